"""Working-day calendar for deadlines (调休-aware).

China moves weekends around public holidays, so "Saturday" can be a working day and
"Wednesday" a holiday. The official calendar comes from ``chinese_calendar``; for years it
does not cover it raises ``NotImplementedError`` and this module falls back to Monday–Friday.
An override table (date → is-working-day) wins over both, so a new year's State Council
notice can be entered as data before the library catches up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

__all__ = [
    "DEFAULT_WORK_HOURS",
    "RememberingCalendar",
    "WorkCalendar",
    "add_workdays",
    "data_years",
    "default_calendar",
    "is_workday",
    "next_workday",
    "workdays_between",
]

DEFAULT_WORK_HOURS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

D = TypeVar("D", date, datetime)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        if name == "Asia/Shanghai":  # no tz database installed: China has no DST
            from datetime import timezone

            return timezone(timedelta(hours=8), "CST")
        raise


def data_years() -> range:
    """Years for which ``chinese_calendar`` has the official holiday arrangement."""
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return range(min(years), max(years) + 1)


class WorkCalendar:
    """Working days and working hours in one timezone.

    ``overrides`` maps a date to True (working day) or False (day off) and beats every other
    source. ``work_hours`` are the office intervals (local time) of a working day.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        tz: str = "Asia/Shanghai",
        work_hours: tuple[tuple[time, time], ...] = DEFAULT_WORK_HOURS,
    ) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})
        self.tz_name = tz
        self.tz = _zone(tz)
        hours = tuple((start, end) for start, end in work_hours)
        for start, end in hours:
            if not start < end:
                raise ValueError(f"工作时段起点必须早于终点：{start}–{end}")
        for (_, prev_end), (next_start, _) in zip(hours, hours[1:], strict=False):
            if next_start < prev_end:
                raise ValueError("工作时段必须按时间顺序排列且互不重叠")
        self.work_hours = hours
        self._cache: dict[date, bool] = {}

    # ------------------------------------------------------------------ days

    def _as_date(self, d: date | datetime) -> date:
        if isinstance(d, datetime):
            if d.tzinfo is not None:
                d = d.astimezone(self.tz)
            return d.date()
        return d

    def is_workday(self, d: date | datetime) -> bool:
        """True on working days: override, then the official calendar, then Monday–Friday."""
        day = self._as_date(d)
        if day in self.overrides:
            return bool(self.overrides[day])
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        try:
            result = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            result = day.weekday() < 5
        self._cache[day] = result
        return result

    def next_workday(self, d: D) -> D:
        """The first working day strictly after ``d`` (a datetime keeps its time of day)."""
        step = timedelta(days=1)
        cur = d + step
        while not self.is_workday(cur):
            cur += step
        return cur

    def add_workdays(self, start: D, n: int) -> D:
        """The day ``n`` working days after ``start`` (``n = 0``: ``start`` itself if it is a
        working day, else the next one). Datetimes keep their time of day and timezone."""
        if n < 0:
            raise ValueError("n 必须为非负整数")
        if n == 0:
            return start if self.is_workday(start) else self.next_workday(start)
        cur = start
        for _ in range(n):
            cur = self.next_workday(cur)
        return cur

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in the half-open interval (a, b]; negative when ``b < a``.

        ``workdays_between(a, add_workdays(a, n)) == n`` for every ``n ≥ 1``.
        """
        a, b = self._as_date(a), self._as_date(b)
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        cur = a + timedelta(days=1)
        while cur <= b:
            if self.is_workday(cur):
                count += 1
            cur += timedelta(days=1)
        return count

    # ------------------------------------------------------------------ hours

    def _local(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=self.tz)

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """The instant when ``hours`` of office time have elapsed after ``start``.

        Only time inside ``work_hours`` on working days counts. ``start`` must be timezone
        aware; the result is in UTC. A deadline that ends exactly at the close of an interval
        is returned as that close (not the next morning).
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start 必须带时区信息")
        if hours < 0:
            raise ValueError("hours 必须为非负数")
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.tz)
        if remaining == timedelta(0):
            return local.astimezone(UTC)
        day = local.date()
        cursor = local
        # Guard against a calendar with no working days at all.
        for _ in range(366 * 50):
            if self.is_workday(day):
                for begin_t, end_t in self.work_hours:
                    begin = self._local(day, begin_t)
                    end = self._local(day, end_t)
                    if cursor >= end:
                        continue
                    begin = max(begin, cursor)
                    available = end - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
                    cursor = end
            day += timedelta(days=1)
            cursor = self._local(day, time(0, 0))
        raise RuntimeError("工作日历在 50 年内没有可用的工作时段")

    def work_hours_between(self, a: datetime, b: datetime) -> float:
        """Office hours elapsed between two aware instants (negative when ``b < a``)."""
        if a.tzinfo is None or b.tzinfo is None:
            raise ValueError("a 与 b 必须带时区信息")
        if b < a:
            return -self.work_hours_between(b, a)
        la, lb = a.astimezone(self.tz), b.astimezone(self.tz)
        total = timedelta(0)
        day = la.date()
        while day <= lb.date():
            if self.is_workday(day):
                for begin_t, end_t in self.work_hours:
                    begin = max(self._local(day, begin_t), la)
                    end = min(self._local(day, end_t), lb)
                    if end > begin:
                        total += end - begin
            day += timedelta(days=1)
        return total.total_seconds() / 3600.0


class RememberingCalendar:
    """A calendar that remembers the deadlines it has computed. Orders dispatched at the same instant
    with the same SLA (an intake batch) share their sign-in, warning, handling and escalation
    deadlines, so each is worked out once per batch instead of once per order. Keep one only as long
    as the calendar's days cannot change (one transaction)."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self._memo: dict[tuple[object, ...], datetime] = {}

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        key = ("h", start, start.tzinfo, hours)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self.cal.add_work_hours(start, hours)
        return hit

    def add_workdays(self, start: D, n: int) -> D:
        if not isinstance(start, datetime):
            return self.cal.add_workdays(start, n)
        key = ("d", start, start.tzinfo, n)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self.cal.add_workdays(start, n)
        return hit  # type: ignore[return-value]

    def __getattr__(self, name: str) -> object:  # everything else: the calendar itself
        return getattr(self.cal, name)


_DEFAULT: WorkCalendar | None = None


def default_calendar() -> WorkCalendar:
    """The shared calendar without overrides (Asia/Shanghai, default office hours)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = WorkCalendar()
    return _DEFAULT


def is_workday(d: date | datetime) -> bool:
    return default_calendar().is_workday(d)


def add_workdays(start: D, n: int) -> D:
    return default_calendar().add_workdays(start, n)


def next_workday(d: D) -> D:
    return default_calendar().next_workday(d)


def workdays_between(a: date, b: date) -> int:
    return default_calendar().workdays_between(a, b)
