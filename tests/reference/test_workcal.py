from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from citybase.reference import workcal
from citybase.reference.workcal import WorkCalendar, add_workdays, data_years, is_workday

SH = ZoneInfo("Asia/Shanghai")


def test_national_day_and_makeup_days_2024():
    assert not is_workday(date(2024, 10, 1))  # 国庆
    assert not is_workday(date(2024, 10, 7))
    assert is_workday(date(2024, 9, 29))  # Sunday, 调休 working day
    assert is_workday(date(2024, 10, 12))  # Saturday, 调休 working day
    assert not is_workday(date(2024, 10, 13))  # ordinary Sunday
    assert is_workday(date(2024, 10, 8))


def test_ten_working_days_from_the_friday_before_national_day():
    start = date(2024, 9, 27)  # Friday
    # 9/29 (Sun, 调休), 9/30, 10/8, 10/9, 10/10, 10/11, 10/12 (Sat, 调休), 10/14, 10/15, 10/16
    assert add_workdays(start, 10) == date(2024, 10, 16)
    assert add_workdays(start, 1) == date(2024, 9, 29)
    assert add_workdays(start, 3) == date(2024, 10, 8)
    assert workcal.workdays_between(start, date(2024, 10, 16)) == 10
    assert workcal.workdays_between(date(2024, 10, 16), start) == -10


def test_add_workdays_zero_and_datetimes():
    assert add_workdays(date(2024, 10, 1), 0) == date(2024, 10, 8)
    assert add_workdays(date(2024, 9, 30), 0) == date(2024, 9, 30)
    start = datetime(2024, 9, 27, 15, 45, tzinfo=SH)
    result = add_workdays(start, 10)
    assert isinstance(result, datetime)
    assert result == datetime(2024, 10, 16, 15, 45, tzinfo=SH)
    with pytest.raises(ValueError):
        add_workdays(date(2024, 1, 1), -1)


def test_next_workday_skips_the_holiday():
    assert workcal.next_workday(date(2024, 9, 30)) == date(2024, 10, 8)
    assert workcal.next_workday(date(2024, 10, 11)) == date(2024, 10, 12)


def test_work_hours_span_lunch_and_night():
    cal = WorkCalendar()
    # Tuesday 2024-10-15 11:00 + 2 h → 1 h before lunch, 1 h after 13:30 → 14:30
    start = datetime(2024, 10, 15, 11, 0, tzinfo=SH)
    assert cal.add_work_hours(start, 2) == datetime(2024, 10, 15, 14, 30, tzinfo=SH)
    assert cal.add_work_hours(start, 2).tzinfo == UTC
    # 17:00 + 1 h → 0.5 h today, 0.5 h tomorrow from 9:00
    evening = datetime(2024, 10, 15, 17, 0, tzinfo=SH)
    assert cal.add_work_hours(evening, 1) == datetime(2024, 10, 16, 9, 30, tzinfo=SH)
    # started at night: counting begins at 9:00
    night = datetime(2024, 10, 15, 22, 0, tzinfo=SH)
    assert cal.add_work_hours(night, 0.5) == datetime(2024, 10, 16, 9, 30, tzinfo=SH)
    # a full working day is 7 hours: 3 + 4
    assert cal.add_work_hours(datetime(2024, 10, 15, 9, 0, tzinfo=SH), 7) == datetime(
        2024, 10, 15, 17, 30, tzinfo=SH
    )
    # lunch start counts from 13:30
    assert cal.add_work_hours(datetime(2024, 10, 15, 12, 15, tzinfo=SH), 1) == datetime(
        2024, 10, 15, 14, 30, tzinfo=SH
    )


def test_work_hours_cross_a_makeup_weekend_and_the_holiday():
    cal = WorkCalendar()
    # Friday 2024-09-27 16:30 + 8 h: 1 h Fri, 7 h on Sunday 9/29 (调休) → ends 17:30 Sunday
    start = datetime(2024, 9, 27, 16, 30, tzinfo=SH)
    assert cal.add_work_hours(start, 8) == datetime(2024, 9, 29, 17, 30, tzinfo=SH)
    # Monday 9/30 17:00 + 1 h → 0.5 h Monday, then the holiday until 10/8 09:30
    assert cal.add_work_hours(datetime(2024, 9, 30, 17, 0, tzinfo=SH), 1) == datetime(
        2024, 10, 8, 9, 30, tzinfo=SH
    )
    # input in another timezone is fine; the result is UTC
    utc_start = datetime(2024, 9, 30, 9, 0, tzinfo=UTC)  # 17:00 Shanghai
    assert cal.add_work_hours(utc_start, 1) == datetime(2024, 10, 8, 1, 30, tzinfo=UTC)
    assert cal.work_hours_between(start, cal.add_work_hours(start, 8)) == pytest.approx(8)


def test_work_hours_validation():
    cal = WorkCalendar()
    with pytest.raises(ValueError):
        cal.add_work_hours(datetime(2024, 10, 15, 9, 0), 1)
    with pytest.raises(ValueError):
        cal.add_work_hours(datetime(2024, 10, 15, 9, 0, tzinfo=SH), -1)
    same = datetime(2024, 10, 15, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert cal.add_work_hours(same, 0) == same


def test_years_beyond_the_library_fall_back_to_monday_to_friday():
    years = data_years()
    assert 2024 in years and 2004 in years
    assert 2027 not in years
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 1, 4))  # Monday
    assert not cal.is_workday(date(2027, 1, 9))  # Saturday
    # 2027-10-01 is a Friday: without a table the fallback knows nothing of 国庆
    assert cal.is_workday(date(2027, 10, 1))
    assert add_workdays(date(2027, 1, 8), 1) == date(2027, 1, 11)


def test_overrides_win():
    overrides = {date(2027, 10, 1): False, date(2024, 10, 1): True, date(2024, 9, 29): False}
    cal = WorkCalendar(overrides=overrides)
    assert not cal.is_workday(date(2027, 10, 1))
    assert cal.is_workday(date(2024, 10, 1))
    assert not cal.is_workday(date(2024, 9, 29))
    # the module-level calendar is unaffected
    assert is_workday(date(2027, 10, 1))
    assert cal.add_workdays(date(2024, 9, 27), 1) == date(2024, 9, 30)


def test_custom_work_hours():
    cal = WorkCalendar(work_hours=((time(8, 30), time(17, 0)),))
    start = datetime(2024, 10, 15, 16, 0, tzinfo=SH)
    assert cal.add_work_hours(start, 2) == datetime(2024, 10, 16, 9, 30, tzinfo=SH)
    with pytest.raises(ValueError):
        WorkCalendar(work_hours=((time(12, 0), time(9, 0)),))


def test_remembering_calendar_answers_like_the_calendar_and_computes_each_deadline_once(monkeypatch):
    from citybase.reference.workcal import RememberingCalendar

    cal = WorkCalendar(overrides={date(2026, 10, 10): True})
    calls = []
    real = WorkCalendar.add_work_hours
    monkeypatch.setattr(WorkCalendar, "add_work_hours", lambda self, s, h: (calls.append((s, h)), real(self, s, h))[1])
    memo = RememberingCalendar(cal)
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 9, 30, 16, 0, tzinfo=shanghai)  # the eve of National Day
    for hours in (1, 8, 6.4, 8, 1, 8):
        assert memo.add_work_hours(start, hours) == real(cal, start, hours)
    assert len(calls) == 3  # three distinct questions, each worked out once
    # the same instant in another zone is another key: add_workdays keeps the start's own zone
    as_utc = start.astimezone(UTC)
    assert memo.add_workdays(start, 3) == cal.add_workdays(start, 3)
    assert memo.add_workdays(as_utc, 3).tzinfo is UTC
    assert memo.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert memo.is_workday(date(2026, 10, 10)) is True  # everything else is the calendar's own
