"""The ingest wizard: uploaded files waiting as jobs, run in the background."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.lake.models import LakeIngestJob, LakeSqlSource
from citybase.lake.schemas import IngestJobOut, SqlSourceIn, SqlSourceOut
from citybase.lake.service.ingest import _LIVE, _job_out, ingest_file
from citybase.lake.service.versions import MODES, _resource, _safe_code, check_ingest


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
    job.options = {"mode": mode, "encoding": encoding, "sheet": sheet, "mapping": mapping or {}}
    return _job_out(job)


def run_job(job_id: int, principal: Principal) -> None:
    """Run a started wizard job in its own transactions (called in a thread or by the worker)."""
    from citybase.db import session_scope

    with session_scope() as s:
        job = s.get(LakeIngestJob, job_id)
        opts = dict(job.options or {})
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
            j.error = err
            j.finished_at = utcnow()
        _LIVE.pop(job_id, None)


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
