"""The extension points core.identity implements (see citybase/hooks.py)."""

from __future__ import annotations

from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("系统管理", "/admin", "user.manage", 90),
    ]
