"""The extension points opendata implements (see citybase/hooks.py)."""

from __future__ import annotations

from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("开放平台", "/open", None, 40),
    ]
