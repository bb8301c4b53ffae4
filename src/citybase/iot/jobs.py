"""Periodic IoT work: roll-ups, offline detection, clear-after-silence and alarm ⇄ work-order sync every
minute; retention/archive and the hourly export to the lake every hour."""

from __future__ import annotations

from typing import Any

from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.iot import service
from citybase.jobs import crontab, huey


@huey.periodic_task(crontab(minute="*"))
def iot_minutely() -> dict[str, Any]:
    return service.maintenance(archive=False)


@huey.periodic_task(crontab(minute="7"))
def iot_hourly() -> dict[str, Any]:
    out = service.maintenance(archive=True, orders=False)
    with session_scope() as s:
        out["exported"] = service.export_all(s, SYSTEM)
    return out
