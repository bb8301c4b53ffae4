"""Base-library JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from citybase.baselib import service
from citybase.baselib.schemas import BuildOut, LibraryStatus, SourceIn, SourceOut
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import requires

router = APIRouter(prefix="/api/baselib", tags=["baselib 基础库"])


@router.get("", response_model=list[LibraryStatus], summary="基础库状态（汇总）")
def libraries(principal: Principal = Depends(requires("baselib.read"))) -> list[LibraryStatus]:
    with make_session() as s:
        return service.status(s, principal)


@router.get("/{key}/sources", response_model=list[SourceOut], summary="基础库数据源")
def sources(key: str, principal: Principal = Depends(requires("baselib.read"))) -> list[SourceOut]:
    with make_session() as s:
        return service.list_sources(s, key)


@router.put("/{key}/sources", response_model=SourceOut, summary="设置基础库数据源")
def put_source(key: str, body: SourceIn, principal: Principal = Depends(requires("baselib.manage"))) -> SourceOut:
    with session_scope() as s:
        return service.set_source(s, principal, key, body)


@router.post("/{key}/build", response_model=BuildOut, summary="重建基础库")
def build(key: str, principal: Principal = Depends(requires("baselib.manage"))) -> BuildOut:
    with session_scope() as s:
        return service.build(s, principal, key)


@router.get("/{key}/records", summary="基础库记录（脱敏，按标识查询须写明事由）")
def records(key: str, limit: int = Query(20, ge=1, le=200), record_key: str | None = Query(None, max_length=64),
            purpose: str = Query("", max_length=200, description="按个人标识查询时必填：查询事由（记入审计）"),
            principal: Principal = Depends(requires("baselib.read"))) -> dict:
    with make_session() as s:
        header, rows = service.sample(s, principal, key, limit=limit, record_key=record_key, purpose=purpose)
    return {"fields": header, "records": rows, "masked": True}
