"""Sign a checkpoint of the ledger's tail every ten minutes (besides every N entries)."""

from __future__ import annotations

from citybase.core.audit import service
from citybase.db import session_scope
from citybase.jobs import crontab, huey


@huey.periodic_task(crontab(minute="*/10"))
def sign_ledger_checkpoint() -> int | None:
    with session_scope() as s:
        cp = service.sign_tail(s)
        return cp.seq if cp else None
