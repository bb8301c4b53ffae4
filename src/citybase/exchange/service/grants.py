"""Grants: read, listed and revoked; the access log and the bureau's overview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.exchange.models import (
    ShareAccess,
    ShareGrant,
    ShareRequest,
)
from citybase.exchange.schemas import (
    REQUEST_STATES,
    AccessOut,
    GrantOut,
)
from citybase.exchange.service.access import _grant_out
from citybase.exchange.service.common import (
    _l,
    _now,
    _org_names,
    _require_org,
    _resource,
    check_overview,
    is_bureau,
)
from citybase.exchange.service.notifications import notify
from citybase.exchange.service.requests import _check_provider_officer, list_requests


def get_grant(session: Session, principal: Principal, grant_id: int) -> GrantOut:
    authorize(principal, "exchange.read")
    g = session.get(ShareGrant, grant_id)
    if g is None or principal.org_code not in (g.consumer_code, g.provider_code) and not (
            principal.can("exchange.overview") and is_bureau(session, principal)):
        raise NotFound("授权不存在", code="unknown_grant", detail={"grant_id": grant_id})
    return _grant_out(session, g)


def list_grants(session: Session, principal: Principal, *, side: str = "consumer") -> list[GrantOut]:
    """Grants my organisation holds (consumer) or has given (provider)."""
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    if side == "consumer":
        stmt = select(ShareGrant).where(ShareGrant.consumer_code == org)
    elif side == "provider":
        stmt = select(ShareGrant).where(ShareGrant.provider_code == org)
    else:
        raise BadInput("side 只能是 consumer 或 provider", code="bad_side")
    rows = session.execute(stmt.order_by(ShareGrant.id.desc()).limit(500)).scalars().all()
    names = _org_names(session)
    res_by_code = {r.code: r for r in catalog.get_many(session, sorted({x.resource_code for x in rows}))}
    return [_grant_out(session, g, names, res_by_code.get(g.resource_code)) for g in rows]


def revoke(session: Session, principal: Principal, grant_id: int, reason: str = "") -> GrantOut:
    """Immediate: the next call with this grant is refused."""
    g = session.get(ShareGrant, grant_id)
    if g is None:
        raise NotFound("授权不存在", code="unknown_grant", detail={"grant_id": grant_id})
    _check_provider_officer(principal, g)
    if g.status == "revoked":
        raise IllegalTransition("该授权已撤销", code="already_revoked")
    g.status, g.revoked_at, g.revoked_by, g.revoke_reason = "revoked", utcnow(), principal.actor, reason
    audit.record(session, principal, "exchange.revoke", "share_grant", g.id,
                 {"resource": g.resource_code, "consumer": g.consumer_code, "reason": reason})
    notify(session, g.consumer_code, "revoked", f"共享授权已撤销：{g.resource_code}", reason,
           f"/exchange/grants/{g.id}")
    return _grant_out(session, g)


def access_log(session: Session, principal: Principal, code: str, *, limit: int = 200) -> list[AccessOut]:
    """Who read the resource: for its provider's data officers (and the bureau's)."""
    authorize(principal, "exchange.log")
    res = _resource(session, code)
    if not identity.provider_or_bureau(session, principal, res.provider_code):
        raise PermissionDenied("只有资源提供部门可以查看访问记录", code="not_provider")
    rows = session.execute(select(ShareAccess).where(ShareAccess.resource_code == code)
                           .order_by(ShareAccess.id.desc()).limit(max(1, min(limit, 1000)))).scalars().all()
    names = _org_names(session)
    return [AccessOut(id=a.id, ts=a.ts, resource_code=a.resource_code, consumer_code=a.consumer_code,
                      consumer_name=names.get(a.consumer_code, a.consumer_code), actor=a.actor, grant_id=a.grant_id,
                      channel=a.channel, version=a.version, fields=_l(a.fields), clear_fields=_l(a.clear_fields),
                      row_count=a.row_count, purpose=a.purpose) for a in rows]


def overview(session: Session, principal: Principal, *, now: datetime | None = None) -> dict[str, Any]:
    """Requests by state, overdue, most-shared resources and 公共数据按需共享率.

    按需共享率 = requests answered within 10 working days / requests that are due or answered
    (pending requests still inside their deadline are not counted yet; withdrawn ones never)."""
    check_overview(session, principal)
    when = _now(now)
    by_state = dict(session.execute(select(ShareRequest.status, func.count()).group_by(ShareRequest.status)).all())
    overdue_pending = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.status == "pending", ShareRequest.due_at < when)).scalar_one()
    answered_in_time = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.in_time.is_(True))).scalar_one()
    answered_late = session.execute(select(func.count()).select_from(ShareRequest).where(
        ShareRequest.in_time.is_(False))).scalar_one()
    denominator = answered_in_time + answered_late + overdue_pending
    rate = round(100.0 * answered_in_time / denominator, 1) if denominator else None
    top = session.execute(select(ShareAccess.resource_code, func.count(), func.sum(ShareAccess.row_count))
                          .group_by(ShareAccess.resource_code).order_by(func.count().desc()).limit(10)).all()
    res_by_code = {r.code: r for r in catalog.get_many(session, [t[0] for t in top])}
    grants_active = session.execute(select(func.count()).select_from(ShareGrant).where(
        ShareGrant.status == "active", ShareGrant.expires_at > when)).scalar_one()
    overdue_list = list_requests(session, principal, box="all", status="overdue", now=when)
    return {
        "by_state": {k: int(by_state.get(k, 0)) for k in REQUEST_STATES},
        "state_labels": REQUEST_STATES,
        "total": int(sum(by_state.values())),
        "overdue": int(overdue_pending),
        "answered_in_time": int(answered_in_time),
        "answered_late": int(answered_late),
        "response_rate": rate,
        "grants_active": int(grants_active),
        "most_shared": [{"resource_code": c, "name": res_by_code[c].name if c in res_by_code else c,
                         "calls": int(n), "rows": int(rows or 0)} for c, n, rows in top],
        "overdue_requests": [o.model_dump(mode="json") for o in overdue_list],
    }
