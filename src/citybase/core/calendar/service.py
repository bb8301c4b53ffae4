"""Working days for deadlines: China's official calendar (法定节假日 and 调休) plus admin overrides."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.calendar.models import CalendarOverride
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal, authorize
from citybase.reference.workcal import WorkCalendar


def overrides(session: Session) -> dict[date, bool]:
    return {row.day: row.is_workday for row in session.execute(select(CalendarOverride)).scalars()}


def calendar(session: Session) -> WorkCalendar:
    """The calendar every deadline in citybase is computed on."""
    return WorkCalendar(overrides=overrides(session))


def list_overrides(session: Session) -> list[CalendarOverride]:
    return list(session.execute(select(CalendarOverride).order_by(CalendarOverride.day)).scalars())


def set_override(session: Session, principal: Principal, day: date, is_workday: bool, note: str = "") -> None:
    authorize(principal, "calendar.manage")
    if not 2000 <= day.year <= 2100:
        raise BadInput("日期超出范围", code="bad_date")
    row = session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, is_workday=is_workday, note=note[:120]))
    else:
        row.is_workday, row.note = is_workday, note[:120]
    audit.record(session, principal, "calendar.set", "calendar", day.isoformat(),
                 {"is_workday": is_workday, "note": note[:120]})


def delete_override(session: Session, principal: Principal, day: date) -> None:
    authorize(principal, "calendar.manage")
    row = session.get(CalendarOverride, day)
    if row is not None:
        session.delete(row)
        audit.record(session, principal, "calendar.delete", "calendar", day.isoformat(), {})


def add_workdays(session: Session, start: datetime, n: int) -> datetime:
    return calendar(session).add_workdays(start, n)


def add_work_hours(session: Session, start: datetime, hours: float) -> datetime:
    return calendar(session).add_work_hours(start, hours)


def is_workday(session: Session, day: date) -> bool:
    return calendar(session).is_workday(day)
