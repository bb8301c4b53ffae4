"""Background work: deliver 属地回流 versions; flag requests not answered within 10 working days."""

from __future__ import annotations

from citybase.exchange import service
from citybase.jobs import crontab, huey


@huey.periodic_task(crontab(minute="*/5"))
def deliver_periodic() -> dict[int, str]:
    return service.run_deliveries()


@huey.periodic_task(crontab(minute="*/30"))
def flag_overdue_requests() -> list[int]:
    from citybase.db import session_scope

    with session_scope() as s:
        return service.flag_overdue(s)
