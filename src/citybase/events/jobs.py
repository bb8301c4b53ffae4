"""The timer worker: every minute, fire the work-order timers that are due (exactly once)."""

from __future__ import annotations

from citybase.events import service
from citybase.jobs import crontab, huey


@huey.periodic_task(crontab(minute="*"))
def fire_timers() -> int:
    return service.process_due_timers()
