"""Background work: deliver 属地回流 versions; flag requests not answered within 10 working days."""

from __future__ import annotations

import logging

from citybase.jobs import crontab, huey

log = logging.getLogger("citybase.exchange")


def run_deliveries() -> dict[int, str]:
    """Deliver every pending delivery, each in its own transaction; returns delivery id → status."""
    from citybase.core.errors import CitybaseError
    from citybase.db import make_session, session_scope
    from citybase.exchange import service

    with make_session() as s:
        ids = service.pending_deliveries(s)
    out: dict[int, str] = {}
    for did in ids:
        try:
            with session_scope() as s:
                out[did] = service.deliver(s, did).status
        except CitybaseError as exc:
            log.warning("delivery %s failed: %s", did, exc.message)
            out[did] = f"failed: {exc.message}"
    return out


@huey.task()
def deliver_pending() -> dict[int, str]:
    import citybase.quality  # noqa: F401 - the derived copy is evaluated like any version

    return run_deliveries()


@huey.periodic_task(crontab(minute="*/5"))
def deliver_periodic() -> dict[int, str]:
    import citybase.quality  # noqa: F401

    return run_deliveries()


@huey.periodic_task(crontab(minute="*/30"))
def flag_overdue_requests() -> list[int]:
    from citybase.db import session_scope
    from citybase.exchange import service

    with session_scope() as s:
        return service.flag_overdue(s)
