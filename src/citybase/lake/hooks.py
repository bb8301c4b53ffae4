"""The extension points lake implements (see citybase/hooks.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog.panels import Panel
from citybase.core.identity.principal import Principal
from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [NavItem("数据归集", "/lake", "lake.read", 22)]


@hookimpl
def catalog_resource_panels(session: Session, principal: Principal, resource: Any) -> Panel | None:
    from citybase.lake import pages  # the panel is HTML; loaded only when a resource page asks

    return pages.versions_panel(session, principal, resource)
