"""Share requests: asked, answered within 10 working days, approved into grants, rejected or withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.errors import BadInput, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.time import SHANGHAI, utcnow
from citybase.exchange.models import (
    ShareGrant,
    ShareRequest,
)
from citybase.exchange.schemas import (
    REQUEST_STATES,
    ApproveIn,
    GrantOut,
    RejectIn,
    RequestIn,
    RequestOut,
)
from citybase.exchange.service.access import _grant_out
from citybase.exchange.service.common import (
    ANSWER_WORKDAYS,
    _l,
    _now,
    _org_names,
    _require_org,
    _resource,
    check_overview,
    is_bureau,
)
from citybase.exchange.service.filters import _check_names, _jsonable_filter, mask_kind, validate_filter
from citybase.exchange.service.notifications import notify


def _due(session: Session, submitted: datetime) -> datetime:
    """End of the 10th working day after submission (Asia/Shanghai), as UTC."""
    day = submitted.astimezone(SHANGHAI).date()
    due_day = calendar(session).add_workdays(day, ANSWER_WORKDAYS)
    return datetime.combine(due_day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def _request_out(session: Session, r: ShareRequest, names: dict[str, str] | None = None,
                 res: Any = None, now: datetime | None = None) -> RequestOut:
    names = names if names is not None else _org_names(session)
    now = _now(now)
    if res is None:
        res = catalog.find_resource(session, r.resource_code)
    due_day = r.due_at.astimezone(SHANGHAI).date()
    left = None
    if r.status == "pending":
        left = calendar(session).workdays_between(now.astimezone(SHANGHAI).date(), due_day)
    return RequestOut(id=r.id, resource_code=r.resource_code, resource_name=res.name if res else r.resource_code,
                      provider_code=r.provider_code, provider_name=names.get(r.provider_code, r.provider_code),
                      consumer_code=r.consumer_code, consumer_name=names.get(r.consumer_code, r.consumer_code),
                      requested_by=r.requested_by, fields=_l(r.fields), clear_fields=_l(r.clear_fields),
                      row_filter=_l(r.row_filter), purpose=r.purpose, legal_basis=r.legal_basis,
                      period_days=r.period_days, status=r.status, status_label=REQUEST_STATES.get(r.status, r.status),
                      submitted_at=r.submitted_at, due_at=r.due_at, due_date=due_day.isoformat(),
                      workdays_left=left, overdue=(r.status == "pending" and now > r.due_at) or r.in_time is False,
                      decided_at=r.decided_at, decided_by=r.decided_by, decision_reason=r.decision_reason,
                      in_time=r.in_time, grant_id=r.grant_id,
                      field_labels={f.name: f.label for f in res.fields} if res else {})


def create_request(session: Session, principal: Principal, data: RequestIn, *, now: datetime | None = None) -> RequestOut:
    """A consumer department asks for (part of) a resource. ``now`` is for tests and imports only."""
    authorize(principal, "exchange.request")
    org = _require_org(principal)
    res = catalog.find_resource(session, data.resource_code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {data.resource_code}", code="unknown_resource",
                       detail={"resource_code": data.resource_code})
    if res.share_type == "不予共享":
        raise PermissionDenied(f"资源“{res.name}”属于不予共享类，不受理共享申请。依据：{res.share_basis}",
                               code="not_shareable", detail={"share_basis": res.share_basis})
    if res.provider_code == org:
        raise BadInput("这是本单位提供的资源，无需申请", code="own_resource")
    fields = _check_names(res, data.fields, "申请的信息项")
    clear = _check_names(res, data.clear_fields, "申请明文的信息项")
    if fields and any(c not in fields for c in clear):
        raise BadInput("申请明文的信息项必须包含在申请的信息项中", code="clear_not_requested")
    conds = validate_filter(res, data.row_filter)
    pending = session.execute(select(ShareRequest.id).where(
        ShareRequest.resource_code == res.code, ShareRequest.consumer_code == org,
        ShareRequest.status == "pending")).first()
    if pending is not None:
        raise IllegalTransition("本单位对该资源已有待审批的申请，请等待答复或先撤回", code="duplicate_request",
                                detail={"request_id": pending[0]})
    submitted = _now(now)
    r = ShareRequest(resource_code=res.code, provider_code=res.provider_code, consumer_code=org,
                     requested_by=principal.actor, fields=list(fields), clear_fields=list(clear),
                     row_filter=list(_jsonable_filter(conds)), purpose=data.purpose, legal_basis=data.legal_basis,
                     period_days=data.period_days, status="pending", submitted_at=submitted,
                     due_at=_due(session, submitted), decision_reason="")
    session.add(r)
    session.flush()
    audit.record(session, principal, "exchange.request", "share_request", r.id,
                 {"resource": res.code, "provider": res.provider_code, "consumer": org, "fields": fields,
                  "clear_fields": clear, "filter": _jsonable_filter(conds), "purpose": data.purpose,
                  "legal_basis": data.legal_basis, "period_days": data.period_days, "due_at": r.due_at.isoformat()})
    notify(session, res.provider_code, "request", f"新的共享申请：{res.name}",
           f"{principal.org_name or org} 申请共享，请在 {r.due_at.astimezone(SHANGHAI):%Y-%m-%d} 前答复。",
           f"/exchange/requests/{r.id}")
    return _request_out(session, r, res=res, now=submitted)


def _load_request(session: Session, request_id: int) -> ShareRequest:
    r = session.get(ShareRequest, request_id)
    if r is None:
        raise NotFound("共享申请不存在", code="unknown_request", detail={"request_id": request_id})
    return r


def can_see_request(session: Session, principal: Principal, r: ShareRequest) -> bool:
    return principal.org_code in (r.consumer_code, r.provider_code) or (
        principal.can("exchange.overview") and is_bureau(session, principal))


def get_request(session: Session, principal: Principal, request_id: int) -> RequestOut:
    if not (principal.can("exchange.request") or principal.can("exchange.approve")):
        authorize(principal, "exchange.request")
    r = _load_request(session, request_id)
    if not can_see_request(session, principal, r):
        raise NotFound("共享申请不存在", code="unknown_request", detail={"request_id": request_id})
    return _request_out(session, r)


def _check_provider_officer(principal: Principal, r: ShareRequest | ShareGrant) -> None:
    authorize(principal, "exchange.approve")
    if principal.org_code != r.provider_code:
        raise PermissionDenied("只有资源提供部门的数据管理员可以审批或撤销", code="not_provider",
                               detail={"provider_code": r.provider_code})


def approve(session: Session, principal: Principal, request_id: int, data: ApproveIn, *,
            now: datetime | None = None) -> GrantOut:
    """Approve (possibly narrowing) and create the grant bound to the consumer organisation."""
    r = _load_request(session, request_id)
    _check_provider_officer(principal, r)
    if r.status != "pending":
        raise IllegalTransition(f"该申请已{REQUEST_STATES.get(r.status, r.status)}，不能再审批", code="not_pending")
    res = _resource(session, r.resource_code)
    asked = _l(r.fields)
    asked_clear = _l(r.clear_fields)
    fields = _check_names(res, data.fields, "批准的信息项") if data.fields is not None else list(asked)
    if asked and any(f not in asked for f in fields):
        raise BadInput("批准的信息项不能超出申请范围", code="exceeds_request")
    if data.fields is not None and not fields:
        raise BadInput("至少批准一个信息项；如不同意共享请驳回", code="no_fields")
    clear = _check_names(res, data.clear_fields, "批准明文的信息项") if data.clear_fields is not None \
        else list(asked_clear)
    if any(c not in asked_clear for c in clear):
        raise BadInput("批准明文的信息项不能超出申请范围", code="exceeds_request")
    if fields and any(c not in fields for c in clear):
        raise BadInput("明文信息项必须在批准的信息项之内", code="clear_not_granted")
    asked_filter = validate_filter(res, _l(r.row_filter))
    conds = validate_filter(res, data.row_filter) if data.row_filter is not None else asked_filter
    asked_json = _jsonable_filter(asked_filter)
    got_json = _jsonable_filter(conds)
    if any(c not in got_json for c in asked_json):
        raise BadInput("批准的筛选条件须包含申请时的全部条件（只能进一步收窄）", code="exceeds_request")
    period = data.period_days or r.period_days
    if period > r.period_days:
        raise BadInput("批准的使用期限不能超过申请期限", code="exceeds_request")
    when = _now(now)
    g = ShareGrant(resource_code=r.resource_code, provider_code=r.provider_code, consumer_code=r.consumer_code,
                   request_id=r.id, fields=list(fields), clear_fields=list(clear), row_filter=list(got_json),
                   purpose=r.purpose, legal_basis=r.legal_basis, expires_at=when + timedelta(days=period),
                   rate_limit_per_minute=data.rate_limit_per_minute, status="active", created_at=when,
                   created_by=principal.actor, revoke_reason="")
    session.add(g)
    session.flush()
    r.status, r.decided_at, r.decided_by = "approved", when, principal.actor
    r.decision_reason, r.in_time, r.grant_id = data.comment, when <= r.due_at, g.id
    narrowed = fields != asked or clear != asked_clear or got_json != asked_json or period != r.period_days
    audit.record(session, principal, "exchange.approve", "share_request", r.id,
                 {"grant": g.id, "resource": r.resource_code, "consumer": r.consumer_code, "fields": fields,
                  "clear_fields": clear, "filter": got_json, "expires_at": g.expires_at.isoformat(),
                  "rate_limit_per_minute": g.rate_limit_per_minute, "narrowed": narrowed, "in_time": r.in_time})
    notify(session, r.consumer_code, "approved", f"共享申请已批准：{res.name}",
           ("提供部门收窄了共享范围。" if narrowed else "") + (data.comment or ""), f"/exchange/grants/{g.id}")
    return _grant_out(session, g, res=res)


def reject(session: Session, principal: Principal, request_id: int, data: RejectIn, *,
           now: datetime | None = None) -> RequestOut:
    r = _load_request(session, request_id)
    _check_provider_officer(principal, r)
    if r.status != "pending":
        raise IllegalTransition(f"该申请已{REQUEST_STATES.get(r.status, r.status)}，不能再审批", code="not_pending")
    when = _now(now)
    r.status, r.decided_at, r.decided_by, r.decision_reason = "rejected", when, principal.actor, data.reason
    r.in_time = when <= r.due_at
    audit.record(session, principal, "exchange.reject", "share_request", r.id,
                 {"resource": r.resource_code, "consumer": r.consumer_code, "reason": data.reason,
                  "in_time": r.in_time})
    notify(session, r.consumer_code, "rejected", f"共享申请被驳回：{r.resource_code}", data.reason,
           f"/exchange/requests/{r.id}")
    return _request_out(session, r, now=when)


def withdraw(session: Session, principal: Principal, request_id: int) -> RequestOut:
    authorize(principal, "exchange.request")
    r = _load_request(session, request_id)
    if principal.org_code != r.consumer_code:
        raise PermissionDenied("只能撤回本单位的申请", code="not_consumer")
    if r.status != "pending":
        raise IllegalTransition("只有待审批的申请可以撤回", code="not_pending")
    r.status, r.decided_at, r.decided_by = "withdrawn", utcnow(), principal.actor
    audit.record(session, principal, "exchange.withdraw", "share_request", r.id, {"resource": r.resource_code})
    return _request_out(session, r)


def list_requests(session: Session, principal: Principal, *, box: str = "mine", status: str | None = None,
                  now: datetime | None = None) -> list[RequestOut]:
    """``box``: mine (my organisation asked), inbox (my organisation provides), all (the bureau)."""
    if box == "inbox":
        authorize(principal, "exchange.approve")
        stmt = select(ShareRequest).where(ShareRequest.provider_code == _require_org(principal))
    elif box == "all":
        check_overview(session, principal)
        stmt = select(ShareRequest)
    elif box == "mine":
        authorize(principal, "exchange.request")
        stmt = select(ShareRequest).where(ShareRequest.consumer_code == _require_org(principal))
    else:
        raise BadInput("box 只能是 mine、inbox 或 all", code="bad_box")
    if status == "overdue":
        stmt = stmt.where(ShareRequest.status == "pending", ShareRequest.due_at < _now(now))
    elif status:
        if status not in REQUEST_STATES:
            raise BadInput("未知的申请状态", code="bad_status", detail={"allowed": list(REQUEST_STATES)})
        stmt = stmt.where(ShareRequest.status == status)
    rows = session.execute(stmt.order_by(ShareRequest.id.desc()).limit(500)).scalars().all()
    names = _org_names(session)
    res_by_code = {r.code: r for r in catalog.get_many(session, sorted({x.resource_code for x in rows}))}
    return [_request_out(session, r, names, res_by_code.get(r.resource_code), now) for r in rows]


def flag_overdue(session: Session, *, now: datetime | None = None) -> list[int]:
    """Flag pending requests past their deadline to the big-data bureau (once each). Run by a periodic job."""
    when = _now(now)
    rows = session.execute(select(ShareRequest).where(ShareRequest.status == "pending",
                                                      ShareRequest.due_at < when,
                                                      ShareRequest.overdue_flagged_at.is_(None))).scalars().all()
    if not rows:
        return []
    bureau = identity.bureau_code(session)
    names = _org_names(session)
    days = ANSWER_WORKDAYS
    for r in rows:
        r.overdue_flagged_at = when
        res = catalog.find_resource(session, r.resource_code)
        title = f"“{res.name}”（{r.resource_code}）" if res else r.resource_code
        audit.record(session, SYSTEM, "exchange.overdue", "share_request", r.id,
                     {"resource": r.resource_code, "provider": r.provider_code, "consumer": r.consumer_code,
                      "due_at": r.due_at.isoformat()})
        notify(session, bureau, "overdue", f"共享申请超期未答复：{title}",
               f"{names.get(r.provider_code, r.provider_code)}未在 {days} 个工作日内答复"
               f"{names.get(r.consumer_code, r.consumer_code)}的申请。", f"/exchange/requests/{r.id}")
        notify(session, r.provider_code, "overdue", f"共享申请已超期：{title}",
               f"{names.get(r.consumer_code, r.consumer_code)}的申请已超过 {days} 个工作日答复时限，已报大数据管理局。",
               f"/exchange/requests/{r.id}")
    return [r.id for r in rows]


def has_requests(session: Session) -> bool:
    return session.execute(select(ShareRequest.id).limit(1)).first() is not None


def request_form_context(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """What the request form shows: the resource, its 信息项 with grading and masking, existing grants."""
    authorize(principal, "exchange.request")
    res = catalog.find_resource(session, code)
    if res is None or res.status != "published":
        raise NotFound(f"目录中没有已发布的资源 {code}", code="unknown_resource")
    return {"resource": res, "mask": {f.name: mask_kind(f) for f in res.fields}}
