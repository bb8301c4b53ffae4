"""The extension points baselib implements (see citybase/hooks.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from citybase.baselib import service
from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("基础库", "/baselib", "baselib.read", 15),
    ]


@hookimpl
def lake_version_committed(session: Session, version: Any) -> None:
    """A new version of a source makes the libraries that read it stale."""
    service.mark_sources_stale(session, version)
