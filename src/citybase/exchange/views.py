"""共享交换 JSON API under /api/exchange (thin: parse → service → schema)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, StreamingResponse

from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.exchange import service
from citybase.exchange.schemas import (
    AccessOut,
    ApproveIn,
    GrantOut,
    NotificationOut,
    RejectIn,
    RequestIn,
    RequestOut,
    RevokeIn,
    SubscribeIn,
    SubscriptionOut,
)
from citybase.web.security import requires

router = APIRouter(prefix="/api/exchange", tags=["共享交换"])


def _conditions(filter: str | None) -> list[Any]:
    if not filter:
        return []
    try:
        value = json.loads(filter)
    except ValueError as exc:
        raise BadInput("filter 须为 JSON 列表，如 [{\"field\":\"xzqh\",\"op\":\"=\",\"value\":\"320213\"}]",
                       code="bad_filter") from exc
    if not isinstance(value, list):
        raise BadInput("filter 须为 JSON 列表", code="bad_filter")
    return value


def _fields(fields: str | None) -> list[str] | None:
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else None


@router.get("/data/{code}/rows", summary="读取共享数据")
def rows(code: str, grant_id: int | None = None, fields: str | None = None, filter: str | None = None,
         size: int = Query(100), cursor: str | None = None,
         principal: Principal = Depends(requires("exchange.read"))) -> JSONResponse:
    """One page of shared rows. ``filter``: JSON list of {field, op (=, in, between, prefix), value};
    ``cursor``: the previous page's ``next_cursor``."""
    with session_scope() as s:
        page, quota = service.query(s, principal, code, grant_id=grant_id, fields=_fields(fields),
                                    conditions=_conditions(filter), size=size, cursor=cursor)
    return JSONResponse(page.model_dump(mode="json"), headers=quota.headers())


def _export(code: str, fmt: str, grant_id: int | None, fields: str | None, filter: str | None,
            principal: Principal) -> StreamingResponse:
    with session_scope() as s:
        plan = service.prepare_export(s, principal, code, fmt, grant_id=grant_id, fields=_fields(fields),
                                      conditions=_conditions(filter))
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
    headers = {"Content-Disposition": f'attachment; filename="{plan.filename}"',
               "X-Row-Count": str(plan.row_count), **(plan.quota.headers() if plan.quota else {})}
    return StreamingResponse(service.stream_export(plan), media_type=media, headers=headers)


@router.get("/data/{code}/export.csv", summary="导出共享数据 CSV")
def export_csv(code: str, grant_id: int | None = None, fields: str | None = None, filter: str | None = None,
               principal: Principal = Depends(requires("exchange.read"))) -> StreamingResponse:
    return _export(code, "csv", grant_id, fields, filter, principal)


@router.get("/data/{code}/export.parquet", summary="导出共享数据 Parquet")
def export_parquet(code: str, grant_id: int | None = None, fields: str | None = None, filter: str | None = None,
                   principal: Principal = Depends(requires("exchange.read"))) -> StreamingResponse:
    return _export(code, "parquet", grant_id, fields, filter, principal)


@router.post("/requests", status_code=201, summary="提交共享申请")
def create_request(data: RequestIn, principal: Principal = Depends(requires("exchange.request"))) -> RequestOut:
    with session_scope() as s:
        return service.create_request(s, principal, data)


@router.get("/requests", summary="共享申请列表")
def list_requests(box: str = "mine", status: str | None = None,
                  principal: Principal = Depends(requires("exchange.request"))) -> list[RequestOut]:
    with make_session() as s:
        return service.list_requests(s, principal, box=box, status=status)


@router.get("/requests/{request_id}", summary="共享申请详情")
def get_request(request_id: int, principal: Principal = Depends(requires("exchange.read"))) -> RequestOut:
    with make_session() as s:
        return service.get_request(s, principal, request_id)


@router.post("/requests/{request_id}/approve", summary="同意共享申请")
def approve(request_id: int, data: ApproveIn,
            principal: Principal = Depends(requires("exchange.approve"))) -> GrantOut:
    with session_scope() as s:
        return service.approve(s, principal, request_id, data)


@router.post("/requests/{request_id}/reject", summary="驳回共享申请")
def reject(request_id: int, data: RejectIn, principal: Principal = Depends(requires("exchange.approve"))) -> RequestOut:
    with session_scope() as s:
        return service.reject(s, principal, request_id, data)


@router.post("/requests/{request_id}/withdraw", summary="撤回共享申请")
def withdraw(request_id: int, principal: Principal = Depends(requires("exchange.request"))) -> RequestOut:
    with session_scope() as s:
        return service.withdraw(s, principal, request_id)


@router.get("/grants", summary="共享授权列表")
def list_grants(side: str = "consumer", principal: Principal = Depends(requires("exchange.read"))) -> list[GrantOut]:
    with make_session() as s:
        return service.list_grants(s, principal, side=side)


@router.get("/grants/{grant_id}", summary="共享授权详情")
def get_grant(grant_id: int, principal: Principal = Depends(requires("exchange.read"))) -> GrantOut:
    with make_session() as s:
        return service.get_grant(s, principal, grant_id)


@router.post("/grants/{grant_id}/revoke", summary="撤销共享授权")
def revoke(grant_id: int, data: RevokeIn, principal: Principal = Depends(requires("exchange.approve"))) -> GrantOut:
    with session_scope() as s:
        return service.revoke(s, principal, grant_id, data.reason)


@router.get("/resources/{code}/access-log", summary="共享数据访问记录")
def access_log(code: str, limit: int = 200, principal: Principal = Depends(requires("exchange.log"))) -> list[AccessOut]:
    with make_session() as s:
        return service.access_log(s, principal, code, limit=limit)


@router.get("/overview", summary="共享交换总览")
def overview(principal: Principal = Depends(requires("exchange.overview"))) -> dict[str, Any]:
    with make_session() as s:
        return service.overview(s, principal)


@router.post("/subscriptions", status_code=201, summary="订阅属地回流")
def subscribe(data: SubscribeIn, principal: Principal = Depends(requires("exchange.request"))) -> SubscriptionOut:
    with session_scope() as s:
        return service.subscribe(s, principal, data)


@router.get("/subscriptions", summary="属地回流订阅列表")
def list_subscriptions(principal: Principal = Depends(requires("exchange.read"))) -> list[SubscriptionOut]:
    with make_session() as s:
        return service.list_subscriptions(s, principal)


@router.post("/subscriptions/{subscription_id}/cancel", summary="取消订阅")
def cancel_subscription(subscription_id: int,
                        principal: Principal = Depends(requires("exchange.request"))) -> SubscriptionOut:
    with session_scope() as s:
        return service.cancel_subscription(s, principal, subscription_id)


@router.get("/notifications", summary="通知列表")
def notifications(unread: bool = False,
                  principal: Principal = Depends(requires("exchange.read"))) -> list[NotificationOut]:
    with make_session() as s:
        return service.notifications(s, principal, unread_only=unread)


@router.post("/notifications/read", summary="全部标为已读")
def mark_all_read(principal: Principal = Depends(requires("exchange.read"))) -> dict[str, int]:
    with session_scope() as s:
        return {"marked": service.mark_read(s, principal)}
