"""Notifications to organisations (requests to answer, decisions, deliveries), read and marked read."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.exchange.models import (
    Notification,
)
from citybase.exchange.schemas import (
    NotificationOut,
)
from citybase.exchange.service.common import _require_org


def notify(session: Session, org_code: str, kind: str, title: str, body: str = "", link: str = "") -> None:
    session.add(Notification(org_code=org_code, kind=kind, title=title[:200], body=body, link=link[:300],
                             created_at=utcnow()))


def notifications(session: Session, principal: Principal, *, unread_only: bool = False,
                  limit: int = 100) -> list[NotificationOut]:
    authorize(principal, "exchange.read")
    stmt = select(Notification).where(Notification.org_code == _require_org(principal))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = session.execute(stmt.order_by(Notification.id.desc()).limit(limit)).scalars()
    return [NotificationOut(id=n.id, kind=n.kind, title=n.title, body=n.body, link=n.link, created_at=n.created_at,
                            read_at=n.read_at) for n in rows]


def unread_count(session: Session, principal: Principal) -> int:
    if not principal.can("exchange.read") or not principal.org_code:
        return 0
    return session.execute(select(func.count()).select_from(Notification).where(
        Notification.org_code == principal.org_code, Notification.read_at.is_(None))).scalar_one()


def mark_read(session: Session, principal: Principal, notification_id: int | None = None) -> int:
    """Mark one (or, with None, all) of my organisation's notifications read."""
    authorize(principal, "exchange.read")
    stmt = select(Notification).where(Notification.org_code == _require_org(principal),
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    rows = session.execute(stmt).scalars().all()
    for n in rows:
        n.read_at = utcnow()
    if rows:
        audit.record(session, principal, "exchange.notifications_read", "organisation", principal.org_code,
                     {"count": len(rows)})
    return len(rows)
