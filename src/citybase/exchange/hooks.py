"""The extension points exchange implements (see citybase/hooks.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from citybase.catalog.panels import Panel
from citybase.core.identity.principal import Principal
from citybase.exchange import service
from citybase.hooks import NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("共享交换", "/exchange", "exchange.read", 30),
    ]


@hookimpl
def lake_version_committed(session: Session, version: Any) -> None:
    """Subscribers of the resource get a pending delivery (属地回流), delivered after the commit."""
    if service.on_version(session, version):
        service.deliver_after_commit(session)


@hookimpl
def catalog_resource_panels(session: Session, principal: Principal, resource: Any) -> Panel | None:
    from citybase.exchange import pages  # the panel is HTML; loaded only when a resource page asks

    return pages.exchange_panel(session, principal, resource)


@hookimpl
def clear_field_grant(session: Session, principal: Principal, resource_code: str, field: str) -> str | None:
    """The purpose of the caller's organisation's active grant naming ``field`` in clear, if any."""
    return service.clear_grant_purpose(session, principal, resource_code, field)
