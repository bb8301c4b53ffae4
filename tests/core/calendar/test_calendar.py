"""The working-day calendar: administrator overrides on top of the statutory holidays."""

from __future__ import annotations

from datetime import date

from citybase.db import make_session, session_scope


def test_calendar_overrides_change_deadlines(city):
    from citybase.core.calendar import service as cal
    from citybase.core.identity import service as identity

    with make_session() as s:
        admin = identity.principal_for(identity.get_user(s, "admin"), "session")
        assert cal.is_workday(s, date(2027, 2, 8))  # a Monday: the package has no 2027 data
    with session_scope() as s:
        cal.set_override(s, admin, date(2027, 2, 8), False, "2027 春节")
    with make_session() as s:
        assert not cal.is_workday(s, date(2027, 2, 8))
        assert cal.is_workday(s, date(2024, 9, 29))  # 2024 国庆调休 Sunday
        assert not cal.is_workday(s, date(2024, 10, 1))
