"""Demo: map the demo department resources onto the five libraries and build them."""

from __future__ import annotations

from typing import Any

from citybase.baselib import service
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope


def load(console: Any = None) -> None:
    with session_scope() as s:
        service.load_default_sources(s, SYSTEM)
    with session_scope() as s:
        for b in service.rebuild_stale(s, SYSTEM):
            if console is not None:
                console.print(f"  {b.library}: {b.row_count} 条")
