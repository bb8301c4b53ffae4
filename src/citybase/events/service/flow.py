"""The work-order flow: every transition after intake, and the one action table the API and the pages share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.errors import (
    BadInput,
    Conflict,
    IllegalTransition,
)
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import local_time, utcnow
from citybase.events.models import WorkOrder
from citybase.events.schemas import ActionIn, FormActionIn, PhotoIn
from citybase.events.service.access import _check_handler, _check_verifier
from citybase.events.service.catalogue import (
    _org_or_error,
    get_problem_type,
    org_names,
    resolve_units,
    sla_of,
)
from citybase.events.service.photos import _store_photo
from citybase.events.service.records import OrderRow, _event, _move, _need_text, _order, _require, _Rows
from citybase.events.service.states import (
    ANSWERED,
    ARCHIVED,
    CALLBACK,
    CALLBACK_MAX_TRIES,
    CLOSED,
    DISPATCHED,
    IN_PROGRESS,
    MERGED,
    RECEIVED,
    REJECTED,
    REOPENED,
    SIGNED,
    SUSPENDED,
    TRIAGED,
    VERIFYING,
    status_label,
)
from citybase.events.service.timers import _cancel_timers, _schedule, deadline


def reject(session: Session, principal: Principal, number: str, reason: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reason = _need_text(reason, "不予受理的理由", "missing_reason")
    _move(session, principal, order, "reject", {RECEIVED}, REJECTED, reason)
    order.closed_at, order.reply = utcnow(), reason
    return order


def merge(session: Session, principal: Principal, number: str, master_number: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    master = _order(session, master_number)
    if master.number == order.number or master.status in (MERGED, REJECTED):
        raise BadInput("只能并入另一张有效工单", code="bad_master")
    _move(session, principal, order, "merge", {RECEIVED, TRIAGED}, MERGED, f"并入 {master.number}",
          {"master": master.number})
    order.master_number, order.closed_at = master.number, utcnow()
    _event(session, master, principal, "merge", master.status, master.status, f"并入重复诉求 {order.number}",
           {"merged": order.number})
    return order


def answer(session: Session, principal: Principal, number: str, reply: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reply = _need_text(reply, "答复内容", "missing_reply")
    _move(session, principal, order, "answer", {RECEIVED}, ANSWERED, reply)
    order.reply, order.closed_at, order.closed_on_time = reply, utcnow(), True
    return order


def triage(session: Session, principal: Principal, number: str, type_code: str | None = None) -> WorkOrder:
    """受理 → 待派单, confirming (or overriding) the problem type; the SLA is snapshotted here."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _require(order, "triage", {RECEIVED})
    code = type_code or order.type_code or order.suggested_type
    if not code:
        raise BadInput("请先选择问题类型", code="missing_type")
    ptype = get_problem_type(session, code)
    if order.status == RECEIVED:
        order.type_code, order.type_name, order.kind, order.sla = ptype.code, ptype.name, ptype.kind, sla_of(ptype)
    _move(session, principal, order, "triage", {RECEIVED}, TRIAGED, f"问题类型：{ptype.name}",
          {"type_code": ptype.code, "suggested": order.suggested_type})
    return order


def dispatch(session: Session, principal: Principal, number: str, main_unit: str | None = None,
             assist_units: list[str] | None = None, *, now: datetime | None = None) -> WorkOrder:
    """待派单/重办 → 已派单: the clock starts; without a unit the catalogue decides."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    if order.status == RECEIVED:
        triage(session, principal, number)
    if order.status not in (TRIAGED, REOPENED):
        _move(session, principal, order, "dispatch", {TRIAGED, REOPENED}, DISPATCHED)
    if main_unit:
        _org_or_error(session, main_unit)
        assists = [_org_or_error(session, u) for u in assist_units or [] if u and u != main_unit]
    else:
        main_unit, assists = resolve_units(session, order)
        if not main_unit:
            raise BadInput("派单目录中没有匹配的承办单位，请手动指定", code="no_unit")
    _dispatch(session, principal, order, main_unit, assists, now=now)
    return order


def _dispatch(session: Session, principal: Principal, order: OrderRow, main: str, assists: list[str],
              now: datetime | None = None, ledger: bool = True, cal: Any = None, rows: _Rows | None = None) -> None:
    now = now or utcnow()
    cal = cal or calendar(session)
    sla = order.sla or {}
    unit = sla.get("unit", "work_hours")
    order.main_unit, order.assist_units = main, list(assists)
    order.dispatched_at = now
    order.signed_at = None
    order.sign_due_at = deadline(session, now, unit, float(sla.get("sign_in", 1)), cal)
    order.handle_due_at = deadline(session, now, unit, float(sla.get("handle", 8)), cal)
    order.overdue = False
    names = org_names(session)
    _move(session, principal, order, "dispatch", {TRIAGED, REOPENED}, DISPATCHED,
          "主办：" + names.get(main, main) + ("；协办：" + "、".join(names.get(a, a) for a in assists) if assists else ""),
          {"main_unit": main, "assist_units": assists, "sign_due_at": order.sign_due_at.isoformat(),
           "handle_due_at": order.handle_due_at.isoformat()}, now, ledger, rows)
    if order.timer_round:
        _cancel_timers(session, order, now=now)
    _schedule(session, order, now, sign=True, cal=cal, rows=rows)


def sign(session: Session, principal: Principal, number: str, *, now: datetime | None = None) -> WorkOrder:
    order = _order(session, number, lock=True)
    if order.signed_at is None:
        _require(order, "sign", {DISPATCHED})
    _check_handler(principal, order)
    if order.signed_at is not None and order.status not in (DISPATCHED,):
        raise Conflict(f"工单 {number} 已于 {_local(order.signed_at)} 签收，不能重复签收", code="already_signed",
                       detail={"number": number, "status": order.status})
    now = now or utcnow()
    _move(session, principal, order, "sign", {DISPATCHED}, SIGNED, now=now)
    order.signed_at = now
    order.signed_on_time = order.sign_due_at is None or now <= order.sign_due_at
    _cancel_timers(session, order, {"sign_due"}, now)
    return order


def recall(session: Session, principal: Principal, number: str, reason: str = "") -> WorkOrder:
    """撤回: the dispatcher takes back an order the unit has not signed for (已派单 → 待派单)."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _require(order, "recall", {DISPATCHED})
    reason = (reason or "").strip() or "派单有误，撤回重派"
    unit = order.main_unit
    _move(session, principal, order, "recall", {DISPATCHED}, TRIAGED, reason, {"main_unit": unit})
    _cancel_timers(session, order)
    order.main_unit, order.assist_units = None, []
    order.dispatched_at = order.sign_due_at = order.handle_due_at = None
    return order


def reassign(session: Session, principal: Principal, number: str, main_unit: str | None,
             assist_units: list[str] | None = None, reason: str = "") -> WorkOrder:
    """改派: recall an unsigned order and dispatch it to another unit in one step (the clock restarts)."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _require(order, "reassign", {DISPATCHED})
    if not main_unit:
        raise BadInput("请选择改派的主办单位", code="missing_unit")
    if main_unit == order.main_unit:
        raise BadInput("改派的主办单位与当前相同", code="same_unit")
    recall(session, principal, number, (reason or "").strip() or "改派")
    return dispatch(session, principal, number, main_unit, assist_units)


def urge(session: Session, principal: Principal, number: str, note: str = "") -> WorkOrder:
    """催办 by the dispatcher: a note on the timeline and the ledger, and one more on the order's urge count."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _require(order, "urge", {DISPATCHED, SIGNED, IN_PROGRESS})
    order.urge_count = (order.urge_count or 0) + 1
    note = (note or "").strip() or "请尽快签收办理"
    _move(session, principal, order, "urge", {DISPATCHED, SIGNED, IN_PROGRESS}, order.status, note,
          {"urge_count": order.urge_count})
    return order


def _local(value: datetime) -> str:
    return local_time(value)


def return_order(session: Session, principal: Principal, number: str, reason: str) -> WorkOrder:
    """退单: the unit says it is not its responsibility; back to dispatch, counted."""
    order = _order(session, number, lock=True)
    _require(order, "return", {DISPATCHED, SIGNED})
    _check_handler(principal, order)
    reason = _need_text(reason, "退单理由", "missing_reason")
    _move(session, principal, order, "return", {DISPATCHED, SIGNED}, TRIAGED, reason,
          {"unit": order.main_unit})
    order.return_count += 1
    order.main_unit, order.assist_units, order.signed_at = None, [], None
    order.sign_due_at = order.handle_due_at = None
    _cancel_timers(session, order)
    return order


def start(session: Session, principal: Principal, number: str) -> WorkOrder:
    order = _order(session, number, lock=True)
    _require(order, "start", {SIGNED})
    _check_handler(principal, order)
    _move(session, principal, order, "start", {SIGNED}, IN_PROGRESS)
    return order


def request_extension(session: Session, principal: Principal, number: str, amount: float, reason: str,
                      *, now: datetime | None = None) -> WorkOrder:
    """延期 must be asked before the handling deadline."""
    order = _order(session, number, lock=True)
    _check_handler(principal, order)
    now = now or utcnow()
    reason = _need_text(reason, "延期理由", "missing_reason")
    if order.status not in (SIGNED, IN_PROGRESS):
        raise IllegalTransition(f"工单当前状态为「{status_label(order.status)}」，不能申请延期", code="illegal_transition")
    if order.handle_due_at is not None and now >= order.handle_due_at:
        raise IllegalTransition("已超过办理时限，不能再申请延期", code="extension_too_late",
                                detail={"handle_due_at": order.handle_due_at.isoformat()})
    if not 0 < amount <= 100:
        raise BadInput("延期时长须大于 0 且不超过 100", code="bad_extension")
    if order.pending_extension:
        raise Conflict("已有待审批的延期申请", code="extension_pending")
    order.pending_extension = {"amount": amount, "unit": order.sla.get("unit", "work_hours"), "reason": reason,
                               "requested_at": now.isoformat(), "by": principal.actor}
    _event(session, order, principal, "extension_request", order.status, order.status, reason,
           {"amount": amount}, now)
    audit.record(session, principal, "events.extension_request", "work_order", number, {"amount": amount})
    return order


def decide_extension(session: Session, principal: Principal, number: str, approve: bool,
                     *, now: datetime | None = None) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    ext = order.pending_extension
    if not ext:
        raise IllegalTransition("该工单没有待审批的延期申请", code="no_extension")
    now = now or utcnow()
    action = "extension_approve" if approve else "extension_deny"
    detail: dict[str, Any] = {"amount": ext["amount"]}
    if approve:
        if order.status not in (SIGNED, IN_PROGRESS):
            raise IllegalTransition("工单已不在办理中，不能延期", code="illegal_transition")
        assert order.handle_due_at is not None
        cal = calendar(session)
        order.handle_due_at = deadline(session, order.handle_due_at, ext["unit"], float(ext["amount"]), cal)
        order.overdue = False
        detail["handle_due_at"] = order.handle_due_at.isoformat()
        _cancel_timers(session, order, {"warn", "handle_due", "urge", "supervise"}, now)
        _schedule(session, order, now, sign=False, cal=cal)
    order.pending_extension = None
    _event(session, order, principal, action, order.status, order.status, "", detail, now)
    audit.record(session, principal, f"events.{action}", "work_order", number, detail)
    return order


def suspend(session: Session, principal: Principal, number: str, reason: str,
            *, now: datetime | None = None) -> WorkOrder:
    """挂账 (approved by the operations centre): the clock stops."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reason = _need_text(reason, "挂账理由", "missing_reason")
    now = now or utcnow()
    _move(session, principal, order, "suspend", {IN_PROGRESS}, SUSPENDED, reason, now=now)
    order.suspended_at = now
    _cancel_timers(session, order, now=now)
    return order


def resume(session: Session, principal: Principal, number: str, *, now: datetime | None = None) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    now = now or utcnow()
    _move(session, principal, order, "resume", {SUSPENDED}, IN_PROGRESS, now=now)
    if order.suspended_at and order.handle_due_at:
        order.handle_due_at = order.handle_due_at + (now - order.suspended_at)
    order.suspended_at = None
    _schedule(session, order, now, sign=False, cal=calendar(session))
    return order


def feedback(session: Session, principal: Principal, number: str, note: str,
             photos: list[PhotoIn] | None = None, *, now: datetime | None = None) -> WorkOrder:
    """处理反馈 (with photos) → 核查."""
    order = _order(session, number, lock=True)
    _require(order, "feedback", {IN_PROGRESS})
    _check_handler(principal, order)
    note = _need_text(note, "处理结果", "missing_note")
    _move(session, principal, order, "feedback", {IN_PROGRESS}, VERIFYING, note,
          {"photos": len(photos or [])}, now=now)
    for p in photos or []:
        _store_photo(session, order, "feedback", p)
    order.feedback_at = now or utcnow()
    order.reply = note
    return order


def verify(session: Session, principal: Principal, number: str, passed: bool, note: str = "",
           *, now: datetime | None = None) -> WorkOrder:
    """核查 on site by the grid worker: 通过 → 回访; 返工 → 办理中."""
    order = _order(session, number, lock=True)
    _require(order, "verify_pass" if passed else "verify_rework", {VERIFYING})
    _check_verifier(session, principal, order)
    if passed:
        _move(session, principal, order, "verify_pass", {VERIFYING}, CALLBACK, note, now=now)
    else:
        note = _need_text(note, "返工原因", "missing_reason")
        _move(session, principal, order, "verify_rework", {VERIFYING}, IN_PROGRESS, note, now=now)
        order.rework_count += 1
    return order


def callback(session: Session, principal: Principal, number: str, result: str, note: str = "",
             *, now: datetime | None = None, max_tries: int = CALLBACK_MAX_TRIES) -> WorkOrder:
    """回访: satisfied → 办结; unsatisfied → 重办; unreachable N times → 办结 (counted)."""
    authorize(principal, "events.callback")
    order = _order(session, number, lock=True)
    now = now or utcnow()
    if result not in ("satisfied", "unsatisfied", "unreachable"):
        raise BadInput("回访结果只能是 满意/不满意/未接通", code="bad_result")
    if order.status != CALLBACK:
        _move(session, principal, order, f"callback_{result}", {CALLBACK}, CALLBACK)
    if result == "unreachable":
        order.callback_tries += 1
        if order.callback_tries < max_tries:
            _event(session, order, principal, "callback_unreachable", CALLBACK, CALLBACK,
                   f"第 {order.callback_tries} 次回访未接通", {"tries": order.callback_tries}, now)
            audit.record(session, principal, "events.callback_unreachable", "work_order", number,
                         {"tries": order.callback_tries})
            return order
        _move(session, principal, order, "callback_unreachable", {CALLBACK}, CLOSED,
              f"{order.callback_tries} 次回访未接通，按规定办结", {"tries": order.callback_tries}, now)
        order.satisfaction = "unreachable"
        _close(order, now)
    elif result == "satisfied":
        _move(session, principal, order, "callback_satisfied", {CALLBACK}, CLOSED, note, now=now)
        order.satisfaction = "satisfied"
        _close(order, now)
    else:
        _move(session, principal, order, "callback_unsatisfied", {CALLBACK}, REOPENED, note, now=now)
        order.satisfaction = "unsatisfied"
        order.reopen_count += 1
        order.callback_tries = 0
    return order


def _close(order: WorkOrder, now: datetime) -> None:
    order.closed_at = now
    order.closed_on_time = (order.handle_due_at is None
                            or (order.feedback_at or now) <= order.handle_due_at) and not order.overdue
    if order.dispatched_at:
        order.handle_seconds = int(((order.feedback_at or now) - order.dispatched_at).total_seconds())


def archive(session: Session, principal: Principal, number: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _move(session, principal, order, "archive", {CLOSED, REJECTED, MERGED, ANSWERED}, ARCHIVED)
    order.archived_at = utcnow()
    return order


def reveal_phone(session: Session, principal: Principal, number: str) -> str:
    """The operator calling back sees the reporter's phone; every view is in the ledger."""
    authorize(principal, "events.callback")
    order = _order(session, number)
    audit.record(session, principal, "events.reveal_phone", "work_order", number, {"field": "reporter_phone"})
    _event(session, order, principal, "reveal_phone", order.status, order.status, "回访时查看来电号码")
    return order.reporter_phone


def _triage_dispatch(s: Session, p: Principal, n: str, b: ActionIn) -> WorkOrder:
    """派单 from the detail page: a received order is given its type first."""
    if _order(s, n).status == RECEIVED:
        triage(s, p, n, b.type_code)
    return dispatch(s, p, n, b.main_unit, b.assist_units)


# The one table of the flow's steps after intake: the JSON API (POST /api/events/orders/{n}/{action})
# and the detail page's buttons both go through :func:`act`. The page's button names
# (extension_approve, verify_pass …) are entries of their own, with the decision in the name.
ACTIONS: dict[str, Callable[[Session, Principal, str, ActionIn], WorkOrder]] = {
    "triage": lambda s, p, n, b: triage(s, p, n, b.type_code),
    "dispatch": lambda s, p, n, b: dispatch(s, p, n, b.main_unit, b.assist_units),
    "triage_dispatch": _triage_dispatch,
    "reject": lambda s, p, n, b: reject(s, p, n, b.reason or ""),
    "merge": lambda s, p, n, b: merge(s, p, n, (b.master_number or "").strip()),
    "answer": lambda s, p, n, b: answer(s, p, n, b.note or b.reason or ""),
    "sign": lambda s, p, n, b: sign(s, p, n),
    "recall": lambda s, p, n, b: recall(s, p, n, b.reason or ""),
    "reassign": lambda s, p, n, b: reassign(s, p, n, b.main_unit, b.assist_units, b.reason or ""),
    "urge": lambda s, p, n, b: urge(s, p, n, b.note or b.reason or ""),
    "return": lambda s, p, n, b: return_order(s, p, n, b.reason or ""),
    "start": lambda s, p, n, b: start(s, p, n),
    "extension": lambda s, p, n, b: request_extension(s, p, n, b.amount or 0, b.reason or ""),
    "extension_request": lambda s, p, n, b: request_extension(s, p, n, b.amount or 0, b.reason or ""),
    "extension_decision": lambda s, p, n, b: decide_extension(s, p, n, bool(b.approve)),
    "extension_approve": lambda s, p, n, b: decide_extension(s, p, n, True),
    "extension_deny": lambda s, p, n, b: decide_extension(s, p, n, False),
    "suspend": lambda s, p, n, b: suspend(s, p, n, b.reason or ""),
    "resume": lambda s, p, n, b: resume(s, p, n),
    "feedback": lambda s, p, n, b: feedback(s, p, n, b.note or "", b.photos if isinstance(b, FormActionIn) else []),
    "verify": lambda s, p, n, b: verify(s, p, n, bool(b.passed), b.note or ""),
    "verify_pass": lambda s, p, n, b: verify(s, p, n, True, b.note or ""),
    "verify_rework": lambda s, p, n, b: verify(s, p, n, False, b.note or ""),
    "callback": lambda s, p, n, b: callback(s, p, n, b.result or "", b.note or ""),
    "archive": lambda s, p, n, b: archive(s, p, n),
}


def act(session: Session, principal: Principal, number: str, action: str, data: ActionIn) -> WorkOrder:
    """Run one step of the flow by name; each step checks the role it needs."""
    fn = ACTIONS.get(action)
    if fn is None:
        raise BadInput(f"未知操作：{action}", code="unknown_action", detail={"allowed": sorted(ACTIONS)})
    return fn(session, principal, number, data)
