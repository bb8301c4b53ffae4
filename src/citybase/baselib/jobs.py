"""Rebuild the libraries whose sources have new versions (every five minutes)."""

from __future__ import annotations

from citybase.baselib import service
from citybase.db import session_scope
from citybase.jobs import crontab, huey


@huey.periodic_task(crontab(minute="*/5"))
def rebuild_stale_libraries() -> list[str]:
    with session_scope() as s:
        return [b.library for b in service.rebuild_stale(s)]
