"""The extension points events implements (see citybase/hooks.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from citybase.events import service
from citybase.hooks import MapOverlay, NavItem, hookimpl


@hookimpl
def nav_items() -> list[NavItem]:
    return [
        NavItem("一网统管", "/events", "events.read", 60),
    ]


@hookimpl
def grid_map_overlays(session: Session) -> MapOverlay:
    """The grid map colours grids by their open work orders."""
    return MapOverlay(key="open_orders", label="未办结工单数", counts=service.open_orders_by_grid(session))


@hookimpl
def warm_up() -> None:
    """The intake classifier, its word dictionary and the district boundaries, before the first intake."""
    service.warm_up()
