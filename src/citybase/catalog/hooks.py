"""The extension points catalog implements (see citybase/hooks.py)."""

from __future__ import annotations

from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("数据资源目录", "/catalog", "catalog.read", 20),
    ]
