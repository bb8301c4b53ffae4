"""The lake's service: versioned, immutable Parquet per resource, moved into place atomically.

An ingest writes into a private temp folder, validates (reads, maps, casts), renames the folder to
its version number and only then — in the caller's transaction — records the version and moves
the "current" pointer. The database is the truth: a folder without a version row (an ingest
killed between rename and commit) is never listed and is removed by the next ingest.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotFound, PermissionDenied, TooLarge
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.db import utcnow
from citybase.lake import pipeline, readers
from citybase.lake.models import LakeIngestJob, LakePointer, LakeSqlSource, LakeVersion
from citybase.lake.pipeline import FieldSpec
from citybase.lake.readers import Source
from citybase.lake.schemas import DiffOut, IngestJobOut, Preview, SqlSourceIn, SqlSourceOut, VersionOut
from citybase.standards.crypto import sm3_stream

log = logging.getLogger("citybase.lake")
KEEP_VERSIONS = int(os.environ.get("CITYBASE_LAKE_KEEP_VERSIONS", "10"))
MODES = ("replace", "append", "upsert")

Progress = Callable[[float, str], None]
VersionHook = Callable[[Session, VersionOut], None]
_HOOKS: list[VersionHook] = []


def on_new_version(hook: VersionHook) -> VersionHook:
    """Register ``hook(session, version)`` to run (in the ingest's transaction) after each new version.
    The quality module registers its evaluation here, so lake never imports quality."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def connect() -> duckdb.DuckDBPyConnection:
    """DuckDB with the standards macros registered (read stored versions with ``parquet_glob``)."""
    return pipeline.connect(_tmp_root())


_LOCAL = threading.local()


def macro_connection() -> duckdb.DuckDBPyConnection:
    """A per-thread DuckDB connection with the standards macros, kept open and reused (registering
    the macros costs seconds). Callers must not close it; temp tables they create should be dropped."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        import tempfile

        spill = Path(tempfile.gettempdir()) / f"citybase-duckdb-{os.getpid()}"
        spill.mkdir(exist_ok=True)
        con = pipeline.connect(spill)
        _LOCAL.con = con
    return con


def lake_dir() -> Path:
    d = get_settings().lake_dir
    d.mkdir(parents=True, exist_ok=True)
    return d


def _tmp_root() -> Path:
    d = lake_dir() / ".tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _safe_code(code: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z_.\-]{1,64}", code or ""):
        raise BadInput(f"资源代码不合法：{code}", code="bad_resource_code")
    return code


# --------------------------------------------------------------------------- resource access

def _resource(session: Session, code: str) -> Any:
    from citybase.catalog import service as catalog

    return catalog.get_resource(session, code)


def _fields(res: Any) -> list[FieldSpec]:
    fields = sorted(res.fields, key=lambda f: (f.position, f.name))
    return [FieldSpec(f.name, f.label, f.data_type, f.is_key, f.nullable) for f in fields]


def check_ingest(session: Session, principal: Principal, res: Any) -> None:
    authorize(principal, "lake.ingest")
    if principal.is_system:
        return
    if principal.org_code != res.provider_code:
        raise PermissionDenied(f"只有提供部门（{res.provider_name or res.provider_code}）可以归集该资源的数据",
                               code="not_provider", detail={"provider_code": res.provider_code})


def can_read(session: Session, principal: Principal, res: Any) -> bool:
    if not principal.can("lake.read"):
        return False
    return (principal.is_system or principal.org_code == res.provider_code
            or identity.is_bureau_officer(session, principal))


def check_read(session: Session, principal: Principal, code: str) -> Any:
    """The resource, if ``principal`` may read its stored data (provider org or the bureau's officers)."""
    authorize(principal, "lake.read")
    res = _resource(session, code)
    if not can_read(session, principal, res):
        raise PermissionDenied("只有数据提供部门和大数据管理局的数据管理员可以查看该资源的数据；其他部门请通过共享交换申请",
                               code="not_data_reader", detail={"provider_code": res.provider_code})
    return res


_NAME = re.compile(r"(^name$|^xm$|姓名|legal_rep|法定代表人|联系人|负责人)", re.I)
_ADDRESS = re.compile(r"(address|addr|dz$|地址|住址)", re.I)


def field_mask_kind(f: Any) -> str | None:
    """How a 信息项 is masked in samples: by data element, name/address heuristics, else by grading."""
    if f.element == "cn_id_card":
        return "cn_id_card"
    if f.element == "mobile":
        return "mobile"
    if _NAME.search(f.name) or _NAME.search(f.label or ""):
        return "name" if f.grading in ("L2", "L3", "L4") or "姓名" in (f.label or "") else None
    if _ADDRESS.search(f.name) or _ADDRESS.search(f.label or ""):
        return "address" if f.grading in ("L3", "L4") else None
    if f.grading in ("L3", "L4"):
        return "generic"
    return None


def mask_rows(res: Any, columns: list[str], rows: list[tuple]) -> list[list[Any]]:
    """Rows for display: personal fields masked (GB/T 35273), dates as ISO text."""
    from citybase.standards.masking import mask_value

    kinds = {f.name: field_mask_kind(f) for f in res.fields}
    out = []
    for row in rows:
        line = []
        for c, v in zip(columns, row, strict=True):
            k = kinds.get(c)
            if v is None:
                line.append(None)
            elif k:
                line.append(mask_value(k, v))
            else:
                line.append(v.isoformat() if hasattr(v, "isoformat") else v)
        out.append(line)
    return out


# --------------------------------------------------------------------------- versions (reads)

def _out(row: LakeVersion, current: int | None = None) -> VersionOut:
    return VersionOut(resource_code=row.resource_code, number=row.number, row_count=row.row_count,
                      columns=json.loads(row.columns or "[]"), created_at=row.created_at,
                      created_by=row.created_by, source=row.source, source_label=row.source_label,
                      input_sm3=row.input_sm3, input_bytes=row.input_bytes, encoding=row.encoding, mode=row.mode,
                      rows_added=row.rows_added, rows_removed=row.rows_removed, rows_changed=row.rows_changed,
                      duration_ms=row.duration_ms, is_current=(current == row.number),
                      warnings=json.loads(row.warnings or "[]"), path=row.path)


def _current_number(session: Session, code: str) -> int | None:
    return session.execute(select(LakePointer.current_number)
                           .where(LakePointer.resource_code == code)).scalar_one_or_none()


def current_version(session: Session, resource_code: str) -> VersionOut | None:
    n = _current_number(session, resource_code)
    if n is None:
        return None
    row = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                    LakeVersion.number == n)).scalar_one_or_none()
    return _out(row, n) if row is not None else None


def list_versions(session: Session, resource_code: str) -> list[VersionOut]:
    """Stored versions, newest first (pruned versions are no longer listed)."""
    cur = _current_number(session, resource_code)
    rows = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                     LakeVersion.pruned.is_(False))
                           .order_by(LakeVersion.number.desc())).scalars()
    return [_out(r, cur) for r in rows]


def get_version(session: Session, resource_code: str, number: int) -> VersionOut:
    row = session.execute(select(LakeVersion).where(LakeVersion.resource_code == resource_code,
                                                    LakeVersion.number == number)).scalar_one_or_none()
    if row is None or row.pruned:
        raise NotFound(f"资源 {resource_code} 没有第 {number} 版数据", code="unknown_version",
                       detail={"resource_code": resource_code, "number": number})
    return _out(row, _current_number(session, resource_code))


def cast_failures(session: Session, resource_code: str, number: int) -> dict[str, int]:
    """Per column: values present in the source that did not parse as the 信息项's data type."""
    row = session.execute(select(LakeVersion.cast_failures).where(
        LakeVersion.resource_code == resource_code, LakeVersion.number == number)).scalar_one_or_none()
    return json.loads(row or "{}")


def parquet_glob(version: VersionOut) -> str:
    return str(lake_dir() / version.path / "*.parquet")


def resources_with_data(session: Session) -> list[str]:
    return list(session.execute(select(LakePointer.resource_code).order_by(LakePointer.resource_code)).scalars())


def read_rows(version: VersionOut, *, limit: int = 50, offset: int = 0,
              where: str | None = None) -> tuple[list[str], list[tuple]]:
    """A page of rows of a version (unmasked: callers mask personal fields before showing them)."""
    con = pipeline.connect(_tmp_root(), macros=False)
    try:
        sql = f"SELECT * FROM read_parquet({readers._lit(parquet_glob(version))})"
        if where:
            sql += f" WHERE {where}"
        cur = con.execute(sql + f" LIMIT {int(limit)} OFFSET {int(offset)}")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def diff(session: Session, resource_code: str, old: int | None, new: int) -> DiffOut:
    """Rows added/removed/changed between two versions (by key when the resource has one)."""
    res = _resource(session, resource_code)
    vn = get_version(session, resource_code, new)
    keys = [f.name for f in res.fields if f.is_key]
    if old is None:
        return DiffOut(resource_code=resource_code, old=None, new=new, key=keys, rows_added=vn.row_count,
                       rows_removed=0, rows_changed=0)
    vo = get_version(session, resource_code, old)
    common = [c for c in vn.columns if c in vo.columns]
    con = pipeline.connect(_tmp_root(), macros=False)
    try:
        a, r, c = pipeline.diff_versions(con, parquet_glob(vo), parquet_glob(vn), common, keys)
        samples = pipeline.diff_samples(con, parquet_glob(vo), parquet_glob(vn), common, keys)
    finally:
        con.close()
    return DiffOut(resource_code=resource_code, old=old, new=new, key=keys, rows_added=a, rows_removed=r,
                   rows_changed=c, samples=samples)


# --------------------------------------------------------------------------- ingest

class _Hasher:
    """SM3 of the input, with byte count. ``update_from_file`` hashes a whole file in a background
    thread (OpenSSL releases the GIL), overlapping with DuckDB's work; ``hexdigest`` waits for it."""

    def __init__(self) -> None:
        self._h = sm3_stream()
        self.n = 0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def update(self, data: bytes) -> None:
        self._join()
        self._h.update(data)
        self.n += len(data)

    def update_from_file(self, path: Path) -> None:
        self._join()

        def work() -> None:
            try:
                with open(path, "rb") as fh:
                    while buf := fh.read(8 << 20):
                        self._h.update(buf)
                        self.n += len(buf)
            except BaseException as exc:  # noqa: BLE001 - re-raised by hexdigest
                self._error = exc

        self._thread = threading.Thread(target=work, name="citybase-sm3", daemon=True)
        self._thread.start()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    def hexdigest(self) -> str:
        self._join()
        return self._h.hexdigest()


def preview_file(session: Session, principal: Principal, resource_code: str, path: Path, *,
                 encoding: str = "auto", sheet: str | None = None, filename: str | None = None) -> Preview:
    """What the wizard shows before loading: format, encoding, columns, sample rows, auto mapping."""
    res = _resource(session, resource_code)
    check_ingest(session, principal, res)
    work = Path(_tmp_root()) / f"preview-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        src = readers.open_source(Path(path), encoding=encoding, sheet=sheet, work_dir=work)
        con = pipeline.connect(work, macros=False)
        try:
            try:
                sample = readers.preview_rows(src, con)
            except duckdb.Error as exc:
                raise pipeline._duck_error(con, src, exc) from None
        finally:
            con.close()
        fields = _fields(res)
        mapping, warnings = pipeline.resolve_mapping(src.columns, fields)
        # Personal fields are masked in the preview too; unmapped columns are masked generically.
        from citybase.standards.masking import mask_value

        kinds = {f.name: field_mask_kind(f) for f in res.fields}
        sample = [[None if v is None else (mask_value(kinds[mapping[i]], v) if i in mapping and kinds.get(mapping[i])
                                           else (v if i in mapping else mask_value("generic", v)))
                   for i, v in enumerate(row)] for row in sample]
        return Preview(filename=filename or Path(path).name, format=readers.detect_format(Path(path)),
                       encoding=src.encoding, sheets=src.sheets, source_columns=src.columns, sample_rows=sample,
                       mapping={c: mapping.get(i) for i, c in enumerate(src.columns)},
                       unmapped_fields=[f.name for f in fields if f.name not in mapping.values()],
                       warnings=src.warnings + warnings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ingest_file(session: Session, principal: Principal, resource_code: str, path: Path, *,
                mode: str = "replace", encoding: str = "auto", sheet: str | None = None,
                mapping: dict[str, str] | None = None, source_label: str | None = None,
                progress: Progress | None = None, size_limit: int | None = None) -> VersionOut:
    """Load a CSV/TSV/XLSX/JSON/JSONL/Parquet file as the resource's next version."""
    path = Path(path)
    label = source_label or path.name
    return _ingest(session, principal, resource_code, mode=mode, source=f"file:{path.name}", source_label=label,
                   opener=lambda work, prog, hasher: readers.open_source(
                       path, encoding=encoding, sheet=sheet, work_dir=work, progress=prog, hasher=hasher,
                       size_limit=size_limit),
                   mapping=mapping, progress=progress)


def ingest_table(session: Session, principal: Principal, resource_code: str, table: pa.Table, *,
                 mode: str = "replace", source_label: str, mapping: dict[str, str] | None = None,
                 progress: Progress | None = None) -> VersionOut:
    """Programmatic ingest (IoT, base libraries, SQL sources): the same pipeline as a file."""
    if not isinstance(table, pa.Table):
        raise BadInput("ingest_table 需要 pyarrow.Table", code="bad_table")

    def opener(work: Path, prog: Progress, hasher: _Hasher) -> Source:
        cols = list(table.column_names)
        readers.check_columns(cols)
        if table.num_rows == 0:
            raise BadInput("没有数据行", code="header_only")
        renamed = table.rename_columns([f"c{i}" for i in range(len(cols))])
        return Source(kind="arrow", columns=cols, table=renamed, encoding="arrow")

    return _ingest(session, principal, resource_code, mode=mode, source=f"table:{source_label}",
                   source_label=source_label, opener=opener, mapping=mapping, progress=progress)


def _ingest(session: Session, principal: Principal, resource_code: str, *, mode: str, source: str,
            source_label: str, opener: Callable[[Path, Progress, _Hasher], Source],
            mapping: dict[str, str] | None, progress: Progress | None) -> VersionOut:
    started = time.monotonic()
    prog: Progress = progress or (lambda _f, _m: None)
    if mode not in MODES:
        raise BadInput(f"不支持的归集方式“{mode}”：可选 replace、append、upsert", code="bad_mode")
    code = _safe_code(resource_code)
    res = _resource(session, code)
    check_ingest(session, principal, res)
    fields = _fields(res)
    base = lake_dir() / code
    base.mkdir(parents=True, exist_ok=True)
    work = base / f".tmp-{uuid.uuid4().hex}"
    work.mkdir()
    src: Source | None = None
    try:
        prog(0.02, "读取文件")
        hasher = _Hasher()
        src = opener(work, lambda f, m: prog(0.02 + 0.3 * f, m), hasher)
        mapping_idx, map_warnings = pipeline.resolve_mapping(src.columns, fields, mapping)
        if not mapping_idx:
            raise BadInput("文件中没有任何列能对应到该资源的信息项；请在映射中指定", code="nothing_mapped",
                           detail={"columns": src.columns})
        if fields and mapping_idx:
            keys = [f.name for f in fields if f.is_key]
            missing_keys = [k for k in keys if k not in mapping_idx.values()]
            if missing_keys and mode == "upsert":
                raise BadInput(f"按主键更新需要文件包含主键列：{'、'.join(missing_keys)}", code="missing_key_column")
        prev = current_version(session, code)
        prog(0.35, "校验并写入 Parquet")
        con = pipeline.connect(work, macros=False)
        data_file = work / "part-0.parquet"
        try:
            result = pipeline.stage_and_write(
                con, src, mapping_idx, fields, data_file, mode=mode,
                previous_glob=parquet_glob(prev) if prev else None,
                previous_columns=prev.columns if prev else None)
        finally:
            con.close()
        if src.kind == "arrow" and src.encoding == "arrow":
            with open(data_file, "rb") as fh:
                while buf := fh.read(32 << 20):
                    hasher.update(buf)
        prog(0.8, "登记版本")
        warnings = list(src.warnings) + map_warnings
        if result.cast_failures:
            labels = {f.name: f.label for f in fields}
            warnings.append({"code": "cast_failures", "columns": result.cast_failures,
                             "message": "以下信息项有值无法按数据类型解析，已置为空值：" + "、".join(
                                 f"{labels.get(k, k)} {v} 条" for k, v in result.cast_failures.items())})
        sm3 = hasher.hexdigest()
        version = _commit_version(session, principal, code, work, result, mode=mode, source=source,
                                  source_label=source_label, input_sm3=sm3, input_bytes=hasher.n,
                                  encoding=src.encoding, warnings=warnings,
                                  duration_ms=int((time.monotonic() - started) * 1000))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if src is not None:
            src.cleanup()
    prog(0.85, "质量检核")
    _run_hooks(session, version)
    prog(1.0, "完成")
    return version


def _run_hooks(session: Session, version: VersionOut) -> None:
    """Observers of new versions (quality, exchange …) run in a savepoint each: a failing observer is
    logged and never undoes the stored version."""
    for hook in list(_HOOKS):
        try:
            with session.begin_nested():
                hook(session, version)
        except Exception:  # noqa: BLE001 - one module's observer must not fail the ingest
            log.exception("new-version hook %s failed for %s v%s", getattr(hook, "__qualname__", hook),
                          version.resource_code, version.number)


def _commit_version(session: Session, principal: Principal, code: str, work: Path,
                    result: pipeline.StageResult, **meta: Any) -> VersionOut:
    """Rename the validated folder into place and record it; the pointer moves when the caller commits."""
    pointer = session.execute(select(LakePointer).where(LakePointer.resource_code == code)
                              .with_for_update()).scalar_one_or_none()
    last = session.execute(select(func.max(LakeVersion.number))
                           .where(LakeVersion.resource_code == code)).scalar_one_or_none() or 0
    number = last + 1
    rel = f"{code}/v{number:06d}"
    final = lake_dir() / rel
    if final.exists():  # orphan of an ingest killed after its rename, before its commit
        shutil.rmtree(final)
    os.replace(work, final)
    _fsync_dir(final.parent)

    now = utcnow()
    row = LakeVersion(resource_code=code, number=number, row_count=result.row_count,
                      columns=json.dumps(result.columns, ensure_ascii=False), path=rel, created_at=now,
                      created_by=principal.actor, source=meta["source"][:400],
                      source_label=(meta["source_label"] or "")[:200], input_sm3=meta["input_sm3"],
                      input_bytes=meta["input_bytes"], encoding=meta["encoding"] or "", mode=meta["mode"],
                      rows_added=result.rows_added, rows_removed=result.rows_removed,
                      rows_changed=result.rows_changed, duration_ms=meta["duration_ms"],
                      warnings=json.dumps(meta["warnings"], ensure_ascii=False, default=str),
                      cast_failures=json.dumps(result.cast_failures), pruned=False)
    session.add(row)
    if pointer is None:
        session.add(LakePointer(resource_code=code, current_number=number, updated_at=now))
    else:
        pointer.current_number, pointer.updated_at = number, now
    pruned = _prune(session, code, number)
    session.flush()
    audit.record(session, principal, "lake.ingest", "resource", code,
                 {"version": number, "mode": meta["mode"], "rows": result.row_count, "source": meta["source"],
                  "input_sm3": meta["input_sm3"], "added": result.rows_added, "removed": result.rows_removed,
                  "changed": result.rows_changed, "pruned": pruned})
    if pruned:
        folders = [lake_dir() / f"{code}/v{n:06d}" for n in pruned]

        @event.listens_for(session, "after_commit", once=True)
        def _delete_pruned(_sess: Session) -> None:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)

    return _out(row, number)


def _prune(session: Session, code: str, newest: int) -> list[int]:
    keep = max(1, KEEP_VERSIONS)
    rows = session.execute(select(LakeVersion).where(LakeVersion.resource_code == code,
                                                     LakeVersion.pruned.is_(False),
                                                     LakeVersion.number <= newest - keep)).scalars().all()
    for r in rows:
        r.pruned = True
    return [r.number for r in rows]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def cleanup_orphans(session: Session, resource_code: str | None = None) -> list[str]:
    """Remove temp folders and version folders no row lists (left by killed ingests)."""
    removed = []
    root = lake_dir()
    codes = [resource_code] if resource_code else [p.name for p in root.iterdir() if p.is_dir() and p.name != ".tmp"]
    for code in codes:
        base = root / code
        if not base.is_dir():
            continue
        known = set(session.execute(select(LakeVersion.path).where(LakeVersion.resource_code == code,
                                                                   LakeVersion.pruned.is_(False))).scalars())
        for p in base.iterdir():
            rel = f"{code}/{p.name}"
            stale_tmp = p.name.startswith(".tmp-") and time.time() - p.stat().st_mtime > 6 * 3600
            if stale_tmp or (p.name.startswith("v") and rel not in known):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(rel)
    return removed


# --------------------------------------------------------------------------- wizard jobs

_LIVE: dict[int, tuple[int, str]] = {}  # job id → (percent, message) while it runs in this process


def _job_out(job: LakeIngestJob) -> IngestJobOut:
    live = _LIVE.get(job.id) if job.status == "running" else None
    return IngestJobOut(id=job.id, resource_code=job.resource_code, status=job.status,
                        progress=live[0] if live else job.progress,
                        message=live[1] if live else job.message, filename=job.filename, version_number=job.version_number,
                        error=json.loads(job.error) if job.error else None, created_by=job.created_by,
                        created_at=job.created_at, finished_at=job.finished_at)


def create_upload(session: Session, principal: Principal, resource_code: str, filename: str,
                  data: Any) -> IngestJobOut:
    """Store an uploaded file for the wizard (``data``: a binary file object)."""
    res = _resource(session, _safe_code(resource_code))
    check_ingest(session, principal, res)
    safe_name = re.sub(r"[^\w.\-]+", "_", Path(filename or "upload.csv").name)[-120:] or "upload.csv"
    folder = get_settings().uploads_dir / "lake" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / safe_name
    total = 0
    with open(target, "wb") as out:
        while chunk := data.read(8 << 20):
            total += len(chunk)
            if total > readers.MAX_INPUT_BYTES:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise TooLarge(f"文件超过单次归集上限 {readers._human(readers.MAX_INPUT_BYTES)}", code="file_too_large")
            out.write(chunk)
    job = LakeIngestJob(resource_code=res.code, status="uploaded", progress=0, message="已上传",
                        filename=(filename or safe_name)[:300], upload_path=str(target), options="{}",
                        created_by=principal.actor, created_at=utcnow())
    session.add(job)
    session.flush()
    audit.record(session, principal, "lake.upload", "resource", res.code, {"job": job.id, "file": job.filename,
                                                                           "bytes": total})
    return _job_out(job)


def get_job(session: Session, principal: Principal, job_id: int) -> IngestJobOut:
    job = session.get(LakeIngestJob, job_id)
    if job is None or (not principal.is_system and job.created_by != principal.actor
                       and not identity.is_bureau_officer(session, principal)):
        raise NotFound("找不到该归集任务", code="unknown_job")
    return _job_out(job)


def job_upload_path(session: Session, principal: Principal, job_id: int) -> Path:
    get_job(session, principal, job_id)
    return Path(session.get(LakeIngestJob, job_id).upload_path)


def start_job(session: Session, principal: Principal, job_id: int, *, mode: str, encoding: str = "auto",
              sheet: str | None = None, mapping: dict[str, str] | None = None) -> IngestJobOut:
    job = session.get(LakeIngestJob, job_id)
    if job is None or (not principal.is_system and job.created_by != principal.actor):
        raise NotFound("找不到该归集任务", code="unknown_job")
    if job.status not in ("uploaded", "failed"):
        raise Conflict("该归集任务已在运行或已完成", code="job_started")
    if mode not in MODES:
        raise BadInput(f"不支持的归集方式“{mode}”", code="bad_mode")
    job.status, job.progress, job.message, job.error = "running", 1, "排队中", None
    job.options = json.dumps({"mode": mode, "encoding": encoding, "sheet": sheet, "mapping": mapping or {}},
                             ensure_ascii=False)
    return _job_out(job)


def run_job(job_id: int, principal: Principal) -> None:
    """Run a started wizard job in its own transactions (called in a thread or by the worker)."""
    from citybase.db import session_scope

    with session_scope() as s:
        job = s.get(LakeIngestJob, job_id)
        opts = json.loads(job.options or "{}")
        path, code, filename = Path(job.upload_path), job.resource_code, job.filename
    def prog(frac: float, msg: str) -> None:
        # In memory: the ingest's own transaction holds SQLite's write lock until it commits.
        _LIVE[job_id] = (max(1, min(99, int(frac * 100))), msg)

    try:
        with session_scope() as s:
            v = ingest_file(s, principal, code, path, mode=opts.get("mode", "replace"),
                            encoding=opts.get("encoding") or "auto", sheet=opts.get("sheet") or None,
                            mapping=opts.get("mapping") or None, source_label=filename, progress=prog)
        with session_scope() as s:
            j = s.get(LakeIngestJob, job_id)
            j.status, j.progress, j.message, j.version_number = "done", 100, f"已生成第 {v.number} 版", v.number
            j.finished_at = utcnow()
        _LIVE.pop(job_id, None)
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the job
        from citybase.core.errors import CitybaseError

        err = exc.to_dict()["error"] if isinstance(exc, CitybaseError) else {
            "code": "internal_error", "message": f"归集失败：{type(exc).__name__}", "detail": {}}
        with session_scope() as s:
            j = s.get(LakeIngestJob, job_id)
            j.status, j.message = "failed", err["message"][:400]
            j.error = json.dumps(err, ensure_ascii=False, default=str)
            j.finished_at = utcnow()
        _LIVE.pop(job_id, None)


# --------------------------------------------------------------------------- SQL sources

def _mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):([^@]+)@", r"//\1:***@", url)


def _sql_out(row: LakeSqlSource) -> SqlSourceOut:
    return SqlSourceOut(resource_code=row.resource_code, url_masked=_mask_url(row.url), query=row.query,
                        mode=row.mode, timeout_s=row.timeout_s, enabled=row.enabled, last_run_at=row.last_run_at,
                        last_status=row.last_status, last_error=row.last_error, last_version=row.last_version)


def set_sql_source(session: Session, principal: Principal, resource_code: str, data: SqlSourceIn) -> SqlSourceOut:
    """Register (or replace) the database query pulled on the resource's 更新周期."""
    authorize(principal, "lake.source_edit")
    res = _resource(session, _safe_code(resource_code))
    check_ingest(session, principal, res)
    from sqlalchemy.engine import make_url

    try:
        make_url(data.url)
    except Exception:  # noqa: BLE001
        raise BadInput("数据库连接串格式不正确（应为 SQLAlchemy URL，如 postgresql+psycopg://user:pass@host/db）",
                       code="bad_sql_url") from None
    if not re.match(r"^\s*(select|with)\b", data.query, re.I):
        raise BadInput("查询语句必须以 SELECT 或 WITH 开头", code="bad_sql_query")
    row = session.get(LakeSqlSource, res.code)
    if row is None:
        row = LakeSqlSource(resource_code=res.code, created_by=principal.actor, created_at=utcnow(),
                            last_status="", last_error="", url="", query="")
        session.add(row)
    row.url, row.query, row.mode, row.timeout_s, row.enabled = data.url, data.query, data.mode, data.timeout_s, data.enabled
    session.flush()
    audit.record(session, principal, "lake.sql_source", "resource", res.code,
                 {"url": _mask_url(data.url), "mode": data.mode, "timeout_s": data.timeout_s, "enabled": data.enabled})
    return _sql_out(row)


def get_sql_source(session: Session, resource_code: str) -> SqlSourceOut | None:
    row = session.get(LakeSqlSource, resource_code)
    return _sql_out(row) if row else None


def list_sql_sources(session: Session) -> list[SqlSourceOut]:
    return [_sql_out(r) for r in session.execute(select(LakeSqlSource).order_by(LakeSqlSource.resource_code)).scalars()]


def fetch_sql(url: str, query: str, timeout_s: int) -> pa.Table:
    """Run ``query`` with a hard timeout; the result as an Arrow table of the source's columns."""
    from sqlalchemy import create_engine, text

    from citybase.core.errors import CitybaseError

    engine = create_engine(url, pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            dialect = engine.dialect.name
            if dialect == "postgresql":
                conn.exec_driver_sql(f"SET statement_timeout = {int(timeout_s * 1000)}")
            elif dialect in ("mysql", "mariadb"):
                conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME={int(timeout_s * 1000)}")
            elif dialect == "sqlite":
                deadline = time.monotonic() + timeout_s
                raw = conn.connection.driver_connection
                raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10000)
            started = time.monotonic()
            result = conn.execute(text(query))
            cols = list(result.keys())
            rows = result.fetchall()
            if time.monotonic() - started > timeout_s:
                raise _timeout(timeout_s)
    except CitybaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - map driver errors to a clear message
        msg = str(exc).lower()
        if any(k in msg for k in ("statement timeout", "canceling statement", "interrupted", "max_execution_time",
                                  "timeout", "timed out")):
            raise _timeout(timeout_s) from None
        raise BadInput(f"数据库源读取失败：{str(exc).splitlines()[0][:300]}", code="sql_source_error") from None
    finally:
        engine.dispose()
    arrays = [pa.array([readers._cell_text(r[i]) for r in rows], type=pa.string()) for i in range(len(cols))]
    return pa.table(arrays, names=cols) if cols else pa.table({})


def _timeout(timeout_s: int) -> BadInput:
    return BadInput(f"数据库源查询超过 {timeout_s} 秒未完成，已中止；当前版本保持不变", code="sql_source_timeout",
                    detail={"timeout_s": timeout_s})


def pull_sql_source(session: Session, principal: Principal, resource_code: str) -> VersionOut:
    """Pull a registered SQL source now (the job worker calls this on the 更新周期)."""
    row = session.get(LakeSqlSource, resource_code)
    if row is None:
        raise NotFound("该资源未登记数据库源", code="no_sql_source")
    table = fetch_sql(row.url, row.query, row.timeout_s)
    return ingest_table(session, principal, resource_code, table, mode=row.mode,
                        source_label=f"数据库源 {_mask_url(row.url)}")


def record_pull(session: Session, resource_code: str, *, status: str, error: str = "",
                version: int | None = None) -> None:
    row = session.get(LakeSqlSource, resource_code)
    if row is None:
        return
    row.last_run_at, row.last_status, row.last_error = utcnow(), status, error[:2000]
    if version is not None:
        row.last_version = version


CYCLE_DAYS = {"实时": 0, "每日": 1, "每周": 7, "每月": 30, "每季度": 91, "每年": 365}


def sources_due(session: Session, now: Any = None) -> list[str]:
    """Enabled SQL sources whose last pull is older than the resource's 更新周期."""
    from datetime import timedelta

    now = now or utcnow()
    due = []
    for row in session.execute(select(LakeSqlSource).where(LakeSqlSource.enabled.is_(True))).scalars():
        try:
            res = _resource(session, row.resource_code)
        except NotFound:
            continue
        days = CYCLE_DAYS.get(res.update_cycle)
        if days is None:  # 不定期: pulled only on demand
            continue
        if row.last_run_at is None or now - row.last_run_at >= timedelta(days=days) - timedelta(minutes=5):
            due.append(row.resource_code)
    return due
