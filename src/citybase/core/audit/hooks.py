"""The extension points core.audit implements (see citybase/hooks.py)."""

from __future__ import annotations

from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("安全审计", "/audit", "audit.read", 95),
    ]
