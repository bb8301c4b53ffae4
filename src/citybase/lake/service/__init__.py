"""The lake's service: versioned, immutable Parquet per resource, moved into place atomically.

An ingest writes into a private temp folder, validates (reads, maps, casts), renames the folder to
its version number and only then — in the caller's transaction — records the version and moves
the "current" pointer. The database is the truth: a folder without a version row (an ingest
killed between rename and commit) is never listed and is removed by the next ingest."""

# ruff: noqa: F401 - the package keeps the import surface of the module it was split from
from citybase.lake.service.ingest import (
    _LIVE,
    _commit_version,
    _fsync_dir,
    _ingest,
    _job_out,
    _prune,
    _run_hooks,
    cleanup_orphans,
    create_upload,
    ingest_file,
    ingest_table,
    preview_file,
    version_quality,
)
from citybase.lake.service.overview import overview
from citybase.lake.service.sources import (
    CYCLE_DAYS,
    _timeout,
    fetch_sql,
    get_sql_source,
    list_sql_sources,
    pull_sql_source,
    record_pull,
    sources_due,
)
from citybase.lake.service.uploads import (
    _mask_url,
    _sql_out,
    get_job,
    job_upload_path,
    run_job,
    set_sql_source,
    start_job,
)
from citybase.lake.service.versions import (
    _LOCAL,
    MODES,
    Progress,
    _current_number,
    _fields,
    _Hasher,
    _out,
    _resource,
    _safe_code,
    _tmp_root,
    can_read,
    cast_failures,
    check_ingest,
    check_read,
    connect,
    current_version,
    diff,
    get_version,
    lake_dir,
    list_versions,
    log,
    macro_connection,
    mask_rows,
    parquet_glob,
    read_rows,
    resources_with_data,
)
