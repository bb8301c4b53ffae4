"""数据湖 JSON API (thin: parse → service → schema)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel

from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.lake import service
from citybase.lake.schemas import DiffOut, IngestJobOut, SqlSourceIn, SqlSourceOut, VersionOut
from citybase.web.security import requires

router = APIRouter(prefix="/api/lake", tags=["lake 数据湖"])


class IngestResult(BaseModel):
    version: VersionOut
    quality: dict[str, Any] | None = None


class RowsOut(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    offset: int
    limit: int
    total: int


def _quality_summary(code: str, number: int) -> dict[str, Any] | None:
    with make_session() as s:
        found = service.version_quality(s, code, number)
    keys = ("success", "score", "scores", "failed_rules", "statistics")
    return None if found is None else {k: found[k] for k in keys}


@router.get("/resources/{code}/versions", response_model=list[VersionOut], summary="数据版本列表")
def versions(code: str, principal: Principal = Depends(requires("lake.read"))) -> list[VersionOut]:
    with make_session() as s:
        service.check_read(s, principal, code)
        return service.list_versions(s, code)


@router.get("/resources/{code}/versions/{number}", response_model=VersionOut, summary="数据版本详情")
def version(code: str, number: int, principal: Principal = Depends(requires("lake.read"))) -> VersionOut:
    with make_session() as s:
        service.check_read(s, principal, code)
        return service.get_version(s, code, number)


@router.get("/resources/{code}/versions/{number}/rows", response_model=RowsOut, summary="读取版本数据（脱敏）")
def rows(code: str, number: int, offset: int = 0, limit: int = 50,
         principal: Principal = Depends(requires("lake.read"))) -> RowsOut:
    """Rows of a version with personal fields masked."""
    if not 1 <= limit <= 500 or offset < 0:
        raise BadInput("limit 须在 1–500 之间，offset 不能为负", code="bad_page")
    with make_session() as s:
        res = service.check_read(s, principal, code)
        v = service.get_version(s, code, number)
    cols, data = service.read_rows(v, limit=limit, offset=offset)
    return RowsOut(columns=cols, rows=service.mask_rows(res, cols, data), offset=offset, limit=limit,
                   total=v.row_count)


@router.get("/resources/{code}/diff", response_model=DiffOut, summary="比较两个版本")
def diff(code: str, new: int, old: int | None = None,
         principal: Principal = Depends(requires("lake.read"))) -> DiffOut:
    with make_session() as s:
        res = service.check_read(s, principal, code)
        out = service.diff(s, code, old, new)
    for kind, items in out.samples.items():
        if items:
            cols = list(items[0])
            masked = service.mask_rows(res, cols, [tuple(r.values()) for r in items])
            out.samples[kind] = [dict(zip(cols, r, strict=True)) for r in masked]
    return out


@router.post("/resources/{code}/ingest", response_model=IngestResult, status_code=201, summary="归集文件入湖")
def ingest(code: str, file: UploadFile = File(...), mode: str = Form("replace"), encoding: str = Form("auto"),
           sheet: str = Form(""), mapping: str = Form(""),
           principal: Principal = Depends(requires("lake.ingest"))) -> IngestResult:
    """Upload a file and store it as the resource's next version (synchronously)."""

    try:
        mapping_d = json.loads(mapping) if mapping else None
    except json.JSONDecodeError:
        raise BadInput("mapping 须为 JSON 对象", code="bad_mapping") from None
    folder = Path(tempfile.mkdtemp(prefix="cb-upload-"))
    try:
        name = Path(file.filename or "upload.csv").name
        target = folder / name
        with open(target, "wb") as out:
            shutil.copyfileobj(file.file, out, 8 << 20)
        with session_scope() as s:
            v = service.ingest_file(s, principal, code, target, mode=mode, encoding=encoding, sheet=sheet or None,
                                    mapping=mapping_d, source_label=name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return IngestResult(version=v, quality=_quality_summary(code, v.number))


@router.get("/jobs/{job_id}", response_model=IngestJobOut, summary="归集任务进度")
def job(job_id: int, principal: Principal = Depends(requires("lake.ingest"))) -> IngestJobOut:
    with make_session() as s:
        return service.get_job(s, principal, job_id)


@router.put("/resources/{code}/sql-source", response_model=SqlSourceOut, summary="配置数据库归集源")
def set_source(code: str, body: SqlSourceIn,
               principal: Principal = Depends(requires("lake.source_edit"))) -> SqlSourceOut:
    with session_scope() as s:
        return service.set_sql_source(s, principal, code, body)


@router.post("/resources/{code}/sql-source/pull", response_model=IngestResult, summary="立即从数据库归集")
def pull(code: str, principal: Principal = Depends(requires("lake.source_edit"))) -> IngestResult:
    from citybase.lake import jobs

    with make_session() as s:
        service.check_ingest(s, principal, service._resource(s, code))
    v = jobs.pull_one(code)
    return IngestResult(version=v, quality=_quality_summary(code, v.number))
