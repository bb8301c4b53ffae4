"""Reading orders: one, lists, the board, inboxes, figures, Open311 lookups and what other modules ask."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import (
    BadInput,
)
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.pagination import Page, paginate
from citybase.core.time import utcnow
from citybase.events.models import OrderEvent, OrderPhoto, Timer, WorkOrder
from citybase.events.schemas import EventOut, OrderOut
from citybase.events.service.access import _check_visible, scope_filter
from citybase.events.service.catalogue import list_problem_types, org_names
from citybase.events.service.place import find_duplicates
from citybase.events.service.records import OrderRow, _order
from citybase.events.service.states import (
    ACTION_LABELS,
    ARCHIVED,
    CALLBACK,
    CLOSED,
    DISPATCHED,
    FINISHED,
    HANDLING,
    IN_PROGRESS,
    MERGED,
    RECEIVED,
    REJECTED,
    REOPENED,
    SIGNED,
    SUSPENDED,
    TRIAGED,
    VERIFYING,
    mask_name,
    mask_phone,
    status_label,
)
from citybase.reference import divisions


def to_out(session: Session, principal: Principal, order: OrderRow, *, timeline: bool = False,
           duplicates: bool = False) -> OrderOut:
    events = []
    if timeline:
        rows = session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id)
                               .order_by(OrderEvent.ts, OrderEvent.id)).scalars()
        events = [EventOut(ts=e.ts, actor=e.actor, action=e.action, action_label=ACTION_LABELS.get(e.action, e.action),
                           from_status=e.from_status, to_status=e.to_status, note=e.note, detail=e.detail or {})
                  for e in rows]
    photos = []
    if timeline:
        photos = list(session.execute(select(OrderPhoto.id).where(OrderPhoto.order_id == order.id)
                                      .order_by(OrderPhoto.id)).scalars())
    dups = []
    if duplicates and order.status in (RECEIVED, TRIAGED):
        dups = [o.number for o in find_duplicates(session, order.type_code or order.suggested_type, order.lon,
                                                  order.lat, order.received_at, exclude=order.number)]
    return OrderOut(
        number=order.number, channel=order.channel, status=order.status, status_label=status_label(order.status),
        type_code=order.type_code, type_name=order.type_name, kind=order.kind, suggested_type=order.suggested_type,
        suggested_confidence=order.suggested_confidence, description=order.description, address=order.address,
        lon=order.lon, lat=order.lat, grid_code=order.grid_code, street_code=order.street_code,
        district_code=order.district_code, reporter_name=mask_name(order.reporter_name),
        reporter_phone=mask_phone(order.reporter_phone), external_id=order.external_id,
        attributes=order.attributes or {}, master_number=order.master_number, main_unit=order.main_unit,
        assist_units=list(order.assist_units or []), sla=order.sla or {}, reply=order.reply,
        received_at=order.received_at, dispatched_at=order.dispatched_at, sign_due_at=order.sign_due_at,
        signed_at=order.signed_at, handle_due_at=order.handle_due_at, closed_at=order.closed_at,
        overdue=order.overdue, satisfaction=order.satisfaction, return_count=order.return_count,
        rework_count=order.rework_count, urge_count=order.urge_count, escalation_level=order.escalation_level,
        pending_extension=order.pending_extension, duplicates=dups, timeline=events, photos=photos)


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Ledger actor names (``user`` or ``user#tokenN``) → display names, for timelines."""
    from citybase.core.errors import NotFound as _NotFound

    out = {"system": "系统", "demo": "系统导入", "unit": "承办单位"}
    for a in actors:
        if a in out:
            continue
        try:
            out[a] = identity.get_user(session, a.split("#", 1)[0]).display_name
        except _NotFound:
            out[a] = a
    return out


def get_order(session: Session, principal: Principal, number: str) -> OrderOut:
    order = _order(session, number)
    _check_visible(session, principal, order)
    return to_out(session, principal, order, timeline=True, duplicates=True)


def get_order_row(session: Session, principal: Principal, number: str) -> WorkOrder:
    order = _order(session, number)
    _check_visible(session, principal, order)
    return order


def list_orders(session: Session, principal: Principal, *, status: list[str] | None = None,
                unit: str | None = None, district: str | None = None, q: str | None = None,
                page: int = 1, size: int = 50) -> Page[WorkOrder]:
    authorize(principal, "events.read")
    stmt = select(WorkOrder).order_by(WorkOrder.received_at.desc(), WorkOrder.id.desc())
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if status:
        stmt = stmt.where(WorkOrder.status.in_(status))
    if unit:
        stmt = stmt.where(WorkOrder.main_unit == unit)
    if district:
        stmt = stmt.where(WorkOrder.district_code == district)
    if q:
        stmt = stmt.where(or_(WorkOrder.number == q.strip(), WorkOrder.description.contains(q.strip())))
    return paginate(session, stmt, page, size)


def board(session: Session, principal: Principal, *, now: datetime | None = None, limit: int = 10) -> dict[str, Any]:
    """The operator board: new, to dispatch, near due (warning passed), overdue."""
    authorize(principal, "events.dispatch")
    now = now or utcnow()
    base = select(WorkOrder)

    def rows(*cond: Any, order: Any = WorkOrder.received_at.desc()) -> tuple[list[WorkOrder], int]:
        items = list(session.execute(base.where(*cond).order_by(order).limit(limit)).scalars())
        n = session.execute(select(func.count()).select_from(WorkOrder).where(*cond)).scalar_one()
        return items, n

    near = select(Timer.order_id).where(Timer.kind == "warn", Timer.due_at <= now)  # 80 % of the time used
    out = {
        "new": rows(WorkOrder.status == RECEIVED),
        "to_dispatch": rows(WorkOrder.status.in_([TRIAGED, REOPENED])),
        "near_due": rows(WorkOrder.status.in_(list(HANDLING)), WorkOrder.overdue.is_(False),
                         WorkOrder.handle_due_at >= now, WorkOrder.id.in_(near), order=WorkOrder.handle_due_at),
        "overdue": rows(WorkOrder.status.in_(list(HANDLING)),
                        or_(WorkOrder.overdue.is_(True), WorkOrder.handle_due_at < now), order=WorkOrder.handle_due_at),
        "callback": rows(WorkOrder.status == CALLBACK),
    }
    return out


def inbox(session: Session, principal: Principal, limit: int = 100) -> dict[str, list[WorkOrder]]:
    """A unit's inbox: to sign, in hand, waiting for verification/callback, and orders it assists
    (协办) while the main unit handles them; a grid worker's: to verify."""
    authorize(principal, "events.read")
    org = principal.org_code or "-"
    mine = WorkOrder.main_unit == org

    def rows(*cond: Any) -> list[WorkOrder]:
        return list(session.execute(select(WorkOrder).where(*cond).order_by(WorkOrder.handle_due_at)
                                    .limit(limit)).scalars())

    # 协办: the unit code inside the JSON list, quoted so "320205-cgj" never matches "320205-cgj2"
    assisting = cast(WorkOrder.assist_units, String).like(f'%"{org}"%')
    out = {"to_sign": rows(mine, WorkOrder.status == DISPATCHED),
           "handling": rows(mine, WorkOrder.status.in_([SIGNED, IN_PROGRESS, SUSPENDED])),
           "waiting": rows(mine, WorkOrder.status.in_([VERIFYING, CALLBACK])),
           "assisting": rows(assisting, WorkOrder.status.in_([DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED]))}
    if principal.role == "grid_worker":
        out["to_verify"] = rows(WorkOrder.status == VERIFYING, or_(WorkOrder.street_code == org,
                                                                   WorkOrder.grid_code == org))
    return out


GROUPS = {"district": WorkOrder.district_code, "street": WorkOrder.street_code, "unit": WorkOrder.main_unit,
          "type": WorkOrder.type_code}


def stats(session: Session, principal: Principal, by: str = "district", since: datetime | None = None,
          until: datetime | None = None) -> list[dict[str, Any]]:
    """签收率, 按时办结率, 满意率, 结案率, 返工率 and average handling hours per group."""
    authorize(principal, "events.stats")
    if by not in GROUPS:
        raise BadInput("分组只能是 district/street/unit/type", code="bad_group")
    col = GROUPS[by]

    def cnt(cond: Any) -> Any:  # COUNT(*) FILTER (WHERE …) on both PostgreSQL and SQLite ≥ 3.30
        return func.count().filter(cond)

    closed = WorkOrder.status.in_([CLOSED, ARCHIVED])
    stmt = select(
        col.label("key"), func.count().label("total"),
        cnt(WorkOrder.dispatched_at.is_not(None)).label("dispatched"),
        cnt(WorkOrder.signed_on_time.is_(True)).label("signed_on_time"),
        cnt(closed).label("closed"),
        cnt(and_(closed, WorkOrder.closed_on_time.is_(True))).label("closed_on_time"),
        cnt(and_(WorkOrder.satisfaction == "satisfied", WorkOrder.reopen_count == 0)).label("satisfied"),
        cnt(WorkOrder.satisfaction.in_(["satisfied", "unsatisfied"])).label("rated"),
        cnt(WorkOrder.rework_count > 0).label("reworked"),
        cnt(WorkOrder.feedback_at.is_not(None)).label("fed_back"),
        cnt(WorkOrder.status.in_([REJECTED, MERGED])).label("void"),
        func.avg(WorkOrder.handle_seconds).label("avg_seconds"),
    ).where(col.is_not(None)).group_by(col)
    if since:
        stmt = stmt.where(WorkOrder.received_at >= since)
    if until:
        stmt = stmt.where(WorkOrder.received_at < until)
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    names = _group_names(session, by)
    out = []
    for r in session.execute(stmt):
        def ratio(a: int, b: int) -> float | None:
            return round(100.0 * a / b, 1) if b else None
        accepted = r.total - (r.void or 0)
        out.append({"key": r.key, "name": names.get(r.key, r.key), "total": r.total,
                    "sign_rate": ratio(r.signed_on_time or 0, r.dispatched or 0),
                    "ontime_rate": ratio(r.closed_on_time or 0, r.closed or 0),
                    "satisfaction_rate": ratio(r.satisfied or 0, r.rated or 0),
                    "close_rate": ratio(r.closed or 0, accepted),
                    "rework_rate": ratio(r.reworked or 0, r.fed_back or 0),
                    "avg_hours": round(float(r.avg_seconds) / 3600, 1) if r.avg_seconds is not None else None})
    out.sort(key=lambda x: -x["total"])
    return out


def _group_names(session: Session, by: str) -> dict[str, str]:
    if by == "type":
        return {t.code: t.name for t in list_problem_types(session, active_only=False)}
    names = dict(org_names(session))
    if by == "street":
        with contextlib.suppress(Exception):  # street names need the npm package; codes still show
            names.update({s.code: s.name for s in divisions.streets(get_settings().city_code)})
    return names


def hotspots(session: Session, principal: Principal, days: int = 30, limit: int = 5000) -> list[tuple[float, float]]:
    authorize(principal, "events.stats")
    since = utcnow() - timedelta(days=days)
    stmt = select(WorkOrder.lon, WorkOrder.lat).where(WorkOrder.received_at >= since, WorkOrder.lon.is_not(None)
                                                      ).order_by(WorkOrder.id.desc()).limit(limit)
    return [(round(a, 5), round(b, 5)) for a, b in session.execute(stmt)]


def counts_by_status(session: Session, principal: Principal) -> dict[str, int]:
    authorize(principal, "events.stats")
    stmt = select(WorkOrder.status, func.count()).group_by(WorkOrder.status)
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    return {s: n for s, n in session.execute(stmt)}


def find_order(session: Session, number: str) -> WorkOrder:
    return _order(session, number)


def order_status(session: Session, number: str) -> str:
    return _order(session, number).status


def orders_closed_since(session: Session, since: datetime) -> list[tuple[str, str | None, str]]:
    """(number, external_id, status) of orders finished since ``since`` (IoT reflects closure on alarms)."""
    stmt = select(WorkOrder.number, WorkOrder.external_id, WorkOrder.status).where(
        WorkOrder.closed_at.is_not(None), WorkOrder.closed_at >= since).order_by(WorkOrder.closed_at)
    return [(a, b, c) for a, b, c in session.execute(stmt)]


def open_orders_by_grid(session: Session) -> dict[str, int]:
    stmt = select(WorkOrder.grid_code, func.count()).where(
        WorkOrder.grid_code.is_not(None), WorkOrder.status.not_in(list(FINISHED))).group_by(WorkOrder.grid_code)
    return {g: n for g, n in session.execute(stmt)}


# what a citizen sees of each step: no person, no note typed by staff
PUBLIC_STEPS = {"intake": "已受理", "triage": "已分类，等待派单", "dispatch": "已转交承办单位", "sign": "承办单位已签收",
                "start": "开始办理", "suspend": "暂缓办理", "resume": "恢复办理", "feedback": "已办理，等待核查",
                "verify_pass": "核查通过", "verify_rework": "核查未通过，重新办理", "reopen": "重新办理",
                "callback_satisfied": "已回访", "callback_unsatisfied": "已回访，重新办理", "close": "已办结",
                "answer": "已答复", "reject": "不予受理", "merge": "与同类诉求合并办理", "urge": "已催办",
                "recall": "重新派单", "return": "重新派单", "extension_approve": "办理期限已延长"}


def track(session: Session, number: str, phone_last4: str) -> dict[str, Any]:
    """The public progress of an order (``/events/track``): given its number and the last four
    digits of the phone left at reporting. Unknown numbers, orders without a phone and wrong
    digits get the same refusal, so the page cannot tell which numbers exist. Shows the stages
    (no person, no staff note), the street, the organisation handling it and the reply."""
    import hmac

    number, digits = (number or "").strip(), "".join(ch for ch in (phone_last4 or "") if ch.isdigit())
    if len(digits) != 4:
        raise BadInput("请输入反映问题时所留手机号的后四位数字", code="bad_phone_digits")
    order = session.execute(select(WorkOrder).where(WorkOrder.number == number)).scalar_one_or_none()
    phone = "".join(ch for ch in (order.reporter_phone if order else "") or "" if ch.isdigit())
    if order is None or len(phone) < 4 or not hmac.compare_digest(phone[-4:], digits):
        from citybase.core.errors import NotFound

        raise NotFound("没有找到该工单，或手机号后四位不符（反映问题时未留手机号的工单无法在线查询，可拨打 12345 询问）",
                       code="track_not_found")
    events = session.execute(select(OrderEvent.ts, OrderEvent.action).where(OrderEvent.order_id == order.id)
                             .order_by(OrderEvent.ts, OrderEvent.id)).all()
    steps = [{"at": ts, "step": PUBLIC_STEPS[a]} for ts, a in events if a in PUBLIC_STEPS]
    names = org_names(session)
    finished = order.status in FINISHED
    return {"number": order.number, "type_name": order.type_name or "待分类", "status": status_label(order.status),
            "finished": finished, "received_at": order.received_at,
            "place": " ".join(n for n in (names.get(order.district_code or "", ""),
                                          names.get(order.street_code or "", "")) if n),
            "unit": names.get(order.main_unit or "", "") if order.main_unit else "",
            "reply": _mask_text(order.reply) if finished else "", "steps": steps}


def _mask_text(text: str | None) -> str:
    """A reply as the public may read it: mobile and ID numbers in it masked."""
    import re

    from citybase.standards.masking import mask_id_number, mask_mobile

    text = re.sub(r"(?<!\d)\d{17}[\dXx](?!\d)", lambda m: mask_id_number(m[0]) or "", text or "")
    return re.sub(r"(?<!\d)1[3-9]\d{9}(?!\d)", lambda m: mask_mobile(m[0]) or "", text)
