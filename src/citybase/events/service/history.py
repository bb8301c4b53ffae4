"""Bulk history: orders imported from an old system or generated for the demo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.events.models import OrderEvent, Timer, WorkOrder
from citybase.events.service.intake import _number_for
from citybase.events.service.states import DISPATCHED, HANDLING
from citybase.events.service.timers import _schedule


def import_history(session: Session, principal: Principal, orders: list[dict[str, Any]],
                   events: list[list[dict[str, Any]]], *, now: datetime | None = None) -> int:
    """Load finished histories from another system (or the demo) in one audited import.

    ``orders[i]`` are WorkOrder column values (without id/number), ``events[i]`` their timeline rows
    (ts, actor, action, from_status, to_status, note). Open orders get this round's timers; timers
    already past are marked as imported so the worker does not replay old reminders.
    """

    authorize(principal, "events.admin")
    now = now or utcnow()
    rows = [WorkOrder(number=f"imp-{i}-{now.timestamp()}", **o) for i, o in enumerate(orders)]
    session.add_all(rows)
    session.flush()
    ev_rows: list[dict[str, Any]] = []
    cal = calendar(session)
    for row, evs in zip(rows, events, strict=True):
        row.number = _number_for(row.id, row.received_at)
        for e in evs:
            ev_rows.append({"order_id": row.id, "ts": e["ts"], "actor": e["actor"], "action": e["action"],
                            "from_status": e.get("from_status"), "to_status": e.get("to_status"),
                            "note": e.get("note", ""), "detail": e.get("detail", {})})
        if row.status in HANDLING and row.dispatched_at and row.handle_due_at:
            _schedule(session, row, row.dispatched_at, sign=row.status == DISPATCHED, cal=cal)
    session.flush()
    if ev_rows:
        session.execute(insert(OrderEvent), ev_rows)
    session.execute(update(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now,
                                        Timer.order_id.in_([r.id for r in rows if r.status in HANDLING]))
                    .values(fired_at=now, result="imported"))
    audit.record(session, principal, "events.import_history", "work_order", "*",
                 {"orders": len(rows), "events": len(ev_rows)})
    return len(rows)
