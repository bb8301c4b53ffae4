"""The extension points web implements (see citybase/hooks.py)."""

from __future__ import annotations

from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("首页", "/", None, 0),
        NavItem("数据目录", "/catalog", "portal.read", 10, ready=False),
        NavItem("数据治理", "/quality", "portal.read", 20, ready=False),
        NavItem("共享交换", "/exchange", "portal.read", 30, ready=False),
        NavItem("开放平台", "/open", None, 40, ready=False),
        NavItem("一网统管", "/events", "portal.read", 50, ready=False),
        NavItem("物联感知", "/iot", "portal.read", 60, ready=False),
        NavItem("驾驶舱", "/cockpit", "portal.read", 70, ready=False),
    ]
