"""Loading orders and writing their moves: timeline events, state checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import (
    BadInput,
    IllegalTransition,
    NotFound,
)
from citybase.core.identity.principal import Principal
from citybase.core.time import utcnow
from citybase.db import insert_many, is_postgres
from citybase.events.models import OrderEvent, Timer, WorkOrder
from citybase.events.service.states import ACTION_LABELS, status_label


def _order(session: Session, number: str, lock: bool = False) -> WorkOrder:
    stmt = select(WorkOrder).where(WorkOrder.number == number)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"工单不存在：{number}", code="unknown_order", detail={"number": number})
    return row


@dataclass
class _Rows:
    """Timeline and timer rows of a batch of intakes, kept as plain values and inserted in bulk per
    table at the end (nothing reads their generated ids)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, session: Session, orders: list[dict[str, Any]] | None = None) -> None:
        """These rows, after ``orders`` (new order rows they belong to): one statement on PostgreSQL."""
        insert_many(session, [(WorkOrder.__table__, orders or []), (OrderEvent.__table__, self.events),
                              (Timer.__table__, self.timers)])


def _event(session: Session, order: OrderRow, actor: Principal, action: str, frm: str | None, to: str | None,
           note: str = "", detail: dict[str, Any] | None = None, now: datetime | None = None,
           rows: _Rows | None = None) -> None:
    row = {"order_id": order.id, "ts": now or utcnow(), "actor": actor.actor, "action": action,
           "from_status": frm, "to_status": to, "note": note, "detail": detail or {}}
    if rows is not None:
        rows.events.append(row)
    else:
        session.add(OrderEvent(**row))


def _require(order: OrderRow, action: str, allowed: set[str]) -> None:
    if order.status not in allowed:
        raise IllegalTransition(
            f"工单 {order.number} 当前状态为「{status_label(order.status)}」，不能执行「{ACTION_LABELS[action]}」",
            code="illegal_transition",
            detail={"number": order.number, "status": order.status, "action": action,
                    "allowed_from": sorted(allowed)})


def _move(session: Session, principal: Principal, order: OrderRow, action: str, allowed: set[str], to: str,
          note: str = "", detail: dict[str, Any] | None = None, now: datetime | None = None,
          ledger: bool = True, rows: _Rows | None = None) -> None:
    _require(order, action, allowed)
    frm = order.status
    order.status = to
    order.updated_at = now or utcnow()
    _event(session, order, principal, action, frm, to, note, detail, now, rows)
    if ledger:
        audit.record(session, principal, f"events.{action}", "work_order", order.number,
                     {"from": frm, "to": to, **({"note": note[:200]} if note else {}), **(detail or {})})


def _need_text(value: str | None, what: str, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise BadInput(f"请填写{what}", code=code)
    return value[:2000]


_ORDER_COLUMNS = [c.key for c in WorkOrder.__table__.columns]


class _NewOrder:
    """An order being registered by :func:`intake_many`: the row's values as plain attributes, read
    and set by the flow helpers just like a :class:`WorkOrder`'s, then inserted in bulk. A mapped
    object never added to a session would do the same, at ~0.15 ms an order of attribute
    instrumentation. Columns not given are None, as they would be on an unflushed WorkOrder."""

    __slots__ = tuple(_ORDER_COLUMNS)

    def __init__(self, **values: Any) -> None:
        for key in _ORDER_COLUMNS:
            setattr(self, key, values.get(key))

    def columns(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _ORDER_COLUMNS}


# what the flow helpers used by intake take: a stored order, or one being registered
OrderRow = WorkOrder | _NewOrder
