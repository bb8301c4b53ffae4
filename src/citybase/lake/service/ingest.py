"""Ingest: a file or an Arrow table becomes the next immutable version, validated in a private folder, moved into place atomically, announced to the modules that listen."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from citybase import hooks
from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, TooLarge
from citybase.core.identity.principal import Principal
from citybase.core.time import utcnow
from citybase.lake import duck, pipeline, readers
from citybase.lake.models import LakeIngestJob, LakePointer, LakeVersion
from citybase.lake.readers import Source
from citybase.lake.schemas import IngestJobOut, Preview, VersionOut
from citybase.lake.service.versions import (
    MODES,
    Progress,
    _fields,
    _Hasher,
    _out,
    _resource,
    _safe_code,
    _tmp_root,
    check_ingest,
    current_version,
    lake_dir,
    log,
    parquet_glob,
)
from citybase.standards.masking import field_mask_kind


def preview_file(session: Session, principal: Principal, resource_code: str, path: Path, *,
                 encoding: str = "auto", sheet: str | None = None, filename: str | None = None) -> Preview:
    """What the wizard shows before loading: format, encoding, columns, sample rows, auto mapping."""
    res = _resource(session, resource_code)
    check_ingest(session, principal, res)
    work = Path(_tmp_root()) / f"preview-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        src = readers.open_source(Path(path), encoding=encoding, sheet=sheet, work_dir=work)
        con = duck.connect(work, macros=False)
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
        con = duck.connect(work, macros=False)
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


def version_quality(session: Session, code: str, number: int) -> dict[str, Any] | None:
    """The quality check of a stored version (see the ``lake_version_quality`` hook); None without one."""
    return hooks.relay().lake_version_quality(session=session, resource_code=code, number=number)


def _run_hooks(session: Session, version: VersionOut) -> None:
    """Observers of new versions (quality, exchange …) run in a savepoint each: a failing observer is
    logged and never undoes the stored version."""
    for module, hook in hooks.implementations("lake_version_committed"):
        try:
            with session.begin_nested():
                hook(session=session, version=version)
        except Exception:  # noqa: BLE001 - one module's observer must not fail the ingest
            log.exception("new-version hook of %s failed for %s v%s", module, version.resource_code,
                          version.number)


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
                      columns=list(result.columns), path=rel, created_at=now,
                      created_by=principal.actor, source=meta["source"][:400],
                      source_label=(meta["source_label"] or "")[:200], input_sm3=meta["input_sm3"],
                      input_bytes=meta["input_bytes"], encoding=meta["encoding"] or "", mode=meta["mode"],
                      rows_added=result.rows_added, rows_removed=result.rows_removed,
                      rows_changed=result.rows_changed, duration_ms=meta["duration_ms"],
                      warnings=list(meta["warnings"]), cast_failures=dict(result.cast_failures), pruned=False)
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
    keep = max(1, get_settings().lake_keep_versions)
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


_LIVE: dict[int, tuple[int, str]] = {}  # job id → (percent, message) while it runs in this process


def _job_out(job: LakeIngestJob) -> IngestJobOut:
    live = _LIVE.get(job.id) if job.status == "running" else None
    return IngestJobOut(id=job.id, resource_code=job.resource_code, status=job.status,
                        progress=live[0] if live else job.progress,
                        message=live[1] if live else job.message, filename=job.filename, version_number=job.version_number,
                        error=job.error or None, created_by=job.created_by,
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
            if total > get_settings().lake_max_input_bytes:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise TooLarge(f"文件超过单次归集上限 {readers._human(get_settings().lake_max_input_bytes)}", code="file_too_large")
            out.write(chunk)
    job = LakeIngestJob(resource_code=res.code, status="uploaded", progress=0, message="已上传",
                        filename=(filename or safe_name)[:300], upload_path=str(target), options="{}",
                        created_by=principal.actor, created_at=utcnow())
    session.add(job)
    session.flush()
    audit.record(session, principal, "lake.upload", "resource", res.code, {"job": job.id, "file": job.filename,
                                                                           "bytes": total})
    return _job_out(job)
