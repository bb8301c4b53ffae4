"""Background work: pull SQL sources on their resource's 更新周期; remove orphans of killed ingests."""

from __future__ import annotations

import logging

from citybase.core.identity.principal import SYSTEM
from citybase.jobs import crontab, huey
from citybase.lake.schemas import VersionOut

log = logging.getLogger("citybase.lake")


def pull_one(resource_code: str) -> VersionOut:
    """Pull one SQL source now. On failure (a timeout, a driver error) the current version stays
    untouched and the error is recorded on the source."""
    from citybase.core.errors import CitybaseError
    from citybase.db import session_scope
    from citybase.lake import service

    try:
        with session_scope() as s:
            v = service.pull_sql_source(s, SYSTEM, resource_code)
            service.record_pull(s, resource_code, status="ok", version=v.number)
        return v
    except CitybaseError as exc:
        with session_scope() as s:
            service.record_pull(s, resource_code, status="failed", error=exc.message)
        raise


def pull_due() -> dict[str, str]:
    """Every enabled SQL source whose 更新周期 has elapsed; returns code → 'ok' or the error."""
    from citybase.core.errors import CitybaseError
    from citybase.db import make_session

    with make_session() as s:
        from citybase.lake import service

        due = service.sources_due(s)
    out: dict[str, str] = {}
    for code in due:
        try:
            v = pull_one(code)
            out[code] = f"ok v{v.number}"
        except CitybaseError as exc:
            log.warning("SQL source %s failed: %s", code, exc.message)
            out[code] = exc.message
    return out


@huey.periodic_task(crontab(minute="*/15"))
def pull_sql_sources() -> dict[str, str]:

    return pull_due()


@huey.periodic_task(crontab(minute="7", hour="3"))
def remove_orphans() -> list[str]:
    from citybase.db import make_session
    from citybase.lake import service

    with make_session() as s:
        return service.cleanup_orphans(s)
