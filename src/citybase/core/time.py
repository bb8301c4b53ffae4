"""The one place time zones are decided: stored in UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (what every stored timestamp is)."""
    return datetime.now(UTC)


def local_today() -> date:
    """Today's date in Asia/Shanghai (publication dates, daily counters, deadlines)."""
    return utcnow().astimezone(SHANGHAI).date()


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time shown in Asia/Shanghai; empty for None."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def local_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An ISO-8601 UTC text (as the ledger stores it) shown in Asia/Shanghai."""
    if not value:
        return ""
    try:
        return local_time(datetime.fromisoformat(value), fmt)
    except ValueError:
        return value
