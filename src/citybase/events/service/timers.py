"""Deadlines on the working-day calendar, and the timers that warn, escalate and close."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.identity.principal import SYSTEM
from citybase.core.time import utcnow
from citybase.db import is_postgres
from citybase.events.models import Timer, WorkOrder
from citybase.events.service.records import OrderRow, _event, _Rows
from citybase.events.service.states import DISPATCHED, HANDLING, LEVEL_LABELS, WORKDAY_HOURS


def deadline(session: Session | None, start: datetime, unit: str, amount: float, cal: Any = None) -> datetime:
    cal = cal or calendar(session)  # type: ignore[arg-type]
    if unit == "work_days":
        whole = int(amount)
        due = cal.add_workdays(start, whole) if whole else start
        rest = amount - whole
        return cal.add_work_hours(due, rest * WORKDAY_HOURS) if rest else due
    return cal.add_work_hours(start, amount)


def _hours(unit: str, amount: float) -> float:
    return amount * WORKDAY_HOURS if unit == "work_days" else amount


def _cancel_timers(session: Session, order: WorkOrder, kinds: set[str] | None = None, now: datetime | None = None) -> None:
    cond = [Timer.order_id == order.id, Timer.fired_at.is_(None)]
    if kinds:
        cond.append(Timer.kind.in_(kinds))
    session.execute(update(Timer).where(*cond).values(fired_at=now or utcnow(), result="cancelled"))


def _schedule(session: Session, order: OrderRow, start: datetime, *, sign: bool, cal: Any,
              rows: _Rows | None = None) -> None:
    """Create this round's timer rows (sign-in due, 80 % warning, handling due, 催办, 督办 ×2)."""
    order.timer_round = (order.timer_round or 0) + 1
    base = order.timer_round * 10
    sla = order.sla or {}
    unit, handle = sla.get("unit", "work_hours"), float(sla.get("handle", 8))
    plan = []
    if sign and order.sign_due_at:
        plan.append(("sign_due", 0, order.sign_due_at))
    due = order.handle_due_at
    assert due is not None
    warn_at = cal.add_work_hours(start, _hours(unit, handle) * float(sla.get("warn_ratio", 0.8)))
    if warn_at < due:
        plan.append(("warn", 0, warn_at))
    plan.append(("handle_due", 0, due))
    plan.append(("urge", 0, cal.add_workdays(due, 1)))
    steps = max(1, len(sla.get("escalation") or ["street", "district", "city"]) - 1)
    for k in range(1, steps + 1):
        plan.append(("supervise", k, cal.add_workdays(due, 5 * k)))
    for kind, k, at in plan:
        row = {"order_id": order.id, "kind": kind, "step": base + k, "due_at": at, "fired_at": None, "result": ""}
        if rows is not None:
            rows.timers.append(row)
        else:
            session.add(Timer(**row))


def process_due_timers(now: datetime | None = None, batch: int = 200) -> int:
    """Fire every timer due by ``now`` exactly once, in due order per order. Safe to run in several
    workers at once and after a crash: each action and its ``fired_at`` commit in one transaction.
    A worker takes whole orders (PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` on the order rows;
    SQLite: under ``BEGIN IMMEDIATE``), so two workers never fire timers of the same order."""
    from citybase.db import session_scope

    now = now or utcnow()
    fired = 0
    while True:
        with session_scope(write=True) as s:
            due = select(Timer.order_id).where(Timer.fired_at.is_(None), Timer.due_at <= now)
            stmt = select(WorkOrder.id).where(WorkOrder.id.in_(due)).order_by(WorkOrder.id).limit(batch)
            if is_postgres(s):
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(s.execute(stmt).scalars())
            if ids:
                timers = s.execute(select(Timer).where(Timer.order_id.in_(ids), Timer.fired_at.is_(None),
                                                       Timer.due_at <= now)
                                   .order_by(Timer.order_id, Timer.due_at, Timer.step, Timer.id)).scalars()
                for t in timers:
                    t.result = _fire(s, t, now)
                    t.fired_at = now
                    fired += t.result == "fired"
        if len(ids) < batch:
            return fired


def _fire(session: Session, timer: Timer, now: datetime) -> str:
    order = session.get(WorkOrder, timer.order_id)
    if order is None:
        return "skipped"
    level_names = order.sla.get("escalation") or ["street", "district", "city"]
    if timer.kind == "sign_due":
        if order.status != DISPATCHED:
            return "skipped"
        order.urge_count += 1
        note = f"超过签收时限（{order.sign_due_at and order.sign_due_at.isoformat()}）仍未签收，已催签"
        _timer_event(session, order, "sign_overdue", note, timer, now)
        return "fired"
    if order.status not in HANDLING:
        return "skipped"
    if timer.kind == "warn":
        _timer_event(session, order, "warn", "办理时限已过 80%，请抓紧办理", timer, now)
    elif timer.kind == "handle_due":
        order.overdue = True
        _timer_event(session, order, "overdue", "已超过办理时限", timer, now)
    elif timer.kind == "urge":
        order.urge_count += 1
        _timer_event(session, order, "urge", "超期次日自动催办", timer, now)
    elif timer.kind == "supervise":
        level = min(timer.step % 10, len(level_names) - 1)
        if level <= order.escalation_level:
            return "skipped"
        order.escalation_level = level
        name = LEVEL_LABELS.get(level_names[level], level_names[level])
        _timer_event(session, order, "supervise", f"超期未办结，升级至{name}级督办", timer, now,
                     {"level": level_names[level]})
    else:
        return "skipped"
    return "fired"


def _timer_event(session: Session, order: WorkOrder, action: str, note: str, timer: Timer, now: datetime,
                 extra: dict[str, Any] | None = None) -> None:
    detail = {"timer": timer.kind, "step": timer.step, "due_at": timer.due_at.isoformat(), **(extra or {})}
    _event(session, order, SYSTEM, action, order.status, order.status, note, detail, now)
    audit.record(session, SYSTEM, f"events.{action}", "work_order", order.number, detail)
