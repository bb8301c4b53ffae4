"""数据资源目录 JSON API (thin: parse → service → schema)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from citybase.catalog import service
from citybase.catalog.schemas import ImportReport, ResourceIn, ResourceOut, ReviewIn, SearchResult
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import requires

router = APIRouter(prefix="/api/catalog", tags=["catalog 数据资源目录"])


class CommentIn(BaseModel):
    comment: str = ""


class EventOut(BaseModel):
    action: str
    actor: str
    org_code: str | None
    from_status: str | None
    to_status: str
    comment: str
    at: str


@router.get("/resources", response_model=SearchResult, summary="检索信息资源")
def search(q: str = "", provider_code: str = "", catalog_type: str = "", class_code: str = "",
           class_item: str = "", format: str = "", share_type: str = "", open_type: str = "",
           status: str = "published", page: int = 1, size: int = 20,
           principal: Principal = Depends(requires("catalog.read"))) -> SearchResult:
    filters = {"provider_code": provider_code, "catalog_type": catalog_type, "class_code": class_code,
               "class_item": class_item, "format": format, "share_type": share_type, "open_type": open_type,
               "status": status}
    with make_session() as s:
        return service.search_for(s, principal, q, filters, page, size)


@router.post("/resources", response_model=ResourceOut, status_code=201, summary="新建信息资源（草稿）")
def create(body: ResourceIn, principal: Principal = Depends(requires("catalog.edit"))) -> ResourceOut:
    with session_scope() as s:
        return service.create_resource(s, principal, body)


@router.get("/resources/{code}", response_model=ResourceOut, summary="信息资源详情")
def get(code: str, principal: Principal = Depends(requires("catalog.read"))) -> ResourceOut:
    with make_session() as s:
        return service.get_resource_for(s, principal, code)


@router.put("/resources/{code}", response_model=ResourceOut, summary="修改信息资源")
def update(code: str, body: ResourceIn, principal: Principal = Depends(requires("catalog.edit"))) -> ResourceOut:
    with session_scope() as s:
        return service.update_resource(s, principal, code, body)


@router.delete("/resources/{code}", status_code=204, summary="删除草稿")
def delete(code: str, principal: Principal = Depends(requires("catalog.edit"))) -> Response:
    with session_scope() as s:
        service.delete_draft(s, principal, code)
    return Response(status_code=204)


@router.get("/resources/{code}/history", response_model=list[EventOut], summary="信息资源变更历史")
def history(code: str, principal: Principal = Depends(requires("catalog.read"))) -> list[EventOut]:
    with make_session() as s:
        service.get_resource_for(s, principal, code)
        return [EventOut(action=e.action, actor=e.actor, org_code=e.org_code, from_status=e.from_status,
                         to_status=e.to_status, comment=e.comment, at=e.at.isoformat())
                for e in service.history(s, code)]


@router.post("/resources/{code}/submit", response_model=ResourceOut, summary="提交审核")
def submit(code: str, principal: Principal = Depends(requires("catalog.submit"))) -> ResourceOut:
    with session_scope() as s:
        return service.submit(s, principal, code)


@router.post("/resources/{code}/review", response_model=ResourceOut, summary="审核（通过或退回）")
def review(code: str, body: ReviewIn, principal: Principal = Depends(requires("catalog.review"))) -> ResourceOut:
    with session_scope() as s:
        return service.review(s, principal, code, body.approve, body.comment)


@router.post("/resources/{code}/publish", response_model=ResourceOut, summary="重新发布")
def publish(code: str, principal: Principal = Depends(requires("catalog.review"))) -> ResourceOut:
    with session_scope() as s:
        return service.publish(s, principal, code)


@router.post("/resources/{code}/withdraw", response_model=ResourceOut, summary="撤回已发布资源")
def withdraw(code: str, body: CommentIn | None = None,
             principal: Principal = Depends(requires("catalog.read"))) -> ResourceOut:
    with session_scope() as s:
        return service.withdraw(s, principal, code, body.comment if body else "")


@router.post("/resources/{code}/publish-direct", response_model=ResourceOut, summary="直接发布（系统管理员）")
def publish_direct(code: str, principal: Principal = Depends(requires("catalog.publish_direct"))) -> ResourceOut:
    with session_scope() as s:
        return service.publish_direct(s, principal, code)


@router.get("/review-queue", response_model=list[ResourceOut], summary="待审核队列")
def review_queue(principal: Principal = Depends(requires("catalog.review"))) -> list[ResourceOut]:
    with make_session() as s:
        return service.review_queue(s, principal)


@router.get("/stats", summary="目录统计")
def stats(principal: Principal = Depends(requires("catalog.read"))) -> dict:
    with make_session() as s:
        return service.stats(s)


@router.get("/export.xlsx", summary="导出目录 Excel")
def export(status: str | None = None, provider_code: str | None = None,
           principal: Principal = Depends(requires("catalog.read"))) -> Response:
    with session_scope() as s, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.xlsx"
        service.export_xlsx(s, principal, path, status=status or None, provider_code=provider_code or None)
        body = path.read_bytes()
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''catalog.xlsx"})


@router.get("/template.xlsx", summary="下载空白目录模板", description="表头、下拉选项和一行示例（示例行不会被导入）。")
def template(principal: Principal = Depends(requires("catalog.read"))) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        service.write_template(path)
        body = path.read_bytes()
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''template.xlsx"})


@router.post("/import", response_model=ImportReport, summary="导入目录 Excel")
def import_(file: UploadFile = File(...), publish: bool = Form(False),
            principal: Principal = Depends(requires("catalog.edit"))) -> ImportReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.xlsx"
        save_upload(file, path)
        with session_scope() as s:
            return service.import_xlsx(s, principal, path, publish=publish)


def save_upload(file: UploadFile, path: Path, limit: int = 20 * 1024 * 1024) -> None:
    from citybase.core.errors import TooLarge

    written = 0
    with path.open("wb") as fh:
        while chunk := file.file.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise TooLarge("上传的文件过大（不得超过 20 MB）", code="file_too_large")
            fh.write(chunk)
