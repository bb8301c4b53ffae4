"""Deadlines on the working-day calendar and timers that fire exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from citybase.events import service
from tests.events.conftest import act, fetch, new_order

SH = ZoneInfo("Asia/Shanghai")


def dispatched_at(ev, t0: datetime, type_code: str = "TGARB") -> str:
    number = new_order(ev.grid_worker, type_code=type_code, now=t0)
    act(service.triage, ev.operator, number)
    act(service.dispatch, ev.operator, number, now=t0)
    return number


def timer_actions(number: str) -> Counter:
    return Counter(e.action for e in fetch(number).timeline if e.actor == "system")


def test_work_hour_deadline_skips_the_weekend(ev):
    t0 = datetime(2025, 11, 14, 16, 0, tzinfo=SH)  # Friday 16:00
    o = fetch(dispatched_at(ev, t0))
    # 1.5 h on Friday, the other 2.5 h on Monday morning
    assert o.handle_due_at.astimezone(SH) == datetime(2025, 11, 17, 11, 30, tzinfo=SH)
    assert o.sign_due_at.astimezone(SH) == datetime(2025, 11, 14, 17, 0, tzinfo=SH)


def test_work_hour_deadline_uses_the_tiaoxiu_sunday(ev):
    t0 = datetime(2025, 9, 26, 16, 0, tzinfo=SH)  # Friday before National Day; Sunday 9-28 is a working day
    o = fetch(dispatched_at(ev, t0))
    assert o.handle_due_at.astimezone(SH) == datetime(2025, 9, 28, 11, 30, tzinfo=SH)


def test_work_day_deadline_skips_the_golden_week_and_counts_the_tiaoxiu_saturday(ev):
    t0 = datetime(2025, 9, 30, 10, 0, tzinfo=SH)
    o = fetch(dispatched_at(ev, t0, "TCOMP"))
    # 10-01..10-08 off; 10-11 (Saturday) is a working day → 13 working days end on 10-24
    assert o.handle_due_at.astimezone(SH) == datetime(2025, 10, 24, 10, 0, tzinfo=SH)
    assert o.sign_due_at.astimezone(SH) == datetime(2025, 10, 9, 10, 0, tzinfo=SH)


def test_calendar_override_moves_the_deadline(ev):
    from datetime import date

    from citybase.core.calendar import service as cal
    from citybase.db import session_scope

    with session_scope() as s:
        cal.set_override(s, ev.admin, date(2025, 11, 17), False, "临时停工")
    t0 = datetime(2025, 11, 14, 16, 0, tzinfo=SH)
    o = fetch(dispatched_at(ev, t0))
    assert o.handle_due_at.astimezone(SH) == datetime(2025, 11, 18, 11, 30, tzinfo=SH)


def test_each_timer_action_happens_exactly_once_across_restarts(ev):
    t0 = datetime(2025, 11, 17, 9, 0, tzinfo=SH)  # Monday
    late = dispatched_at(ev, t0)
    signed = dispatched_at(ev, t0)
    act(service.sign, ev.handler, signed, now=t0 + timedelta(minutes=20))
    # the worker runs a first time mid-way (sign-in due and the 80 % warning have passed) ...
    mid = datetime(2025, 11, 17, 13, 45, tzinfo=SH)
    service.process_due_timers(now=mid)
    assert timer_actions(late) == Counter({"sign_overdue": 1, "warn": 1})
    assert timer_actions(signed) == Counter({"warn": 1})
    # ... then stops; the clock runs past every due time; the worker restarts twice
    far = t0 + timedelta(days=30)
    service.process_due_timers(now=far)
    service.process_due_timers(now=far)
    want_late = Counter({"sign_overdue": 1, "warn": 1, "overdue": 1, "urge": 1, "supervise": 2})
    assert timer_actions(late) == want_late
    assert timer_actions(signed) == Counter({"warn": 1, "overdue": 1, "urge": 1, "supervise": 2})
    o = fetch(late)
    assert o.overdue and o.escalation_level == 2 and o.urge_count == 2
    notes = [e.note for e in o.timeline if e.action == "supervise"]
    assert notes == ["超期未办结，升级至区级督办", "超期未办结，升级至市级督办"]


def test_concurrent_workers_do_not_repeat_actions(ev):
    t0 = datetime(2025, 11, 17, 9, 0, tzinfo=SH)
    numbers = [dispatched_at(ev, t0) for _ in range(4)]
    far = t0 + timedelta(days=30)
    errors = []

    def run():
        try:
            service.process_due_timers(now=far, batch=3)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n in numbers:
        assert timer_actions(n) == Counter({"sign_overdue": 1, "warn": 1, "overdue": 1, "urge": 1,
                                            "supervise": 2})


def test_timers_stop_when_the_order_is_handled_in_time(ev):
    t0 = datetime(2025, 11, 17, 9, 0, tzinfo=SH)
    number = dispatched_at(ev, t0)
    act(service.sign, ev.handler, number, now=t0 + timedelta(minutes=5))
    act(service.start, ev.handler, number)
    act(service.feedback, ev.handler, number, "已清理", now=t0 + timedelta(hours=1))
    service.process_due_timers(now=t0 + timedelta(days=30))
    assert timer_actions(number) == Counter()
    assert not fetch(number).overdue


def test_huey_task_runs_the_processor(ev):
    from citybase.events import jobs

    t0 = datetime.now(UTC) - timedelta(days=40)
    number = dispatched_at(ev, t0)
    jobs.fire_timers.call_local()
    assert timer_actions(number)["overdue"] == 1
