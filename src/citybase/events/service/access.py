"""Who may handle, verify and read an order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from citybase.core.errors import (
    PermissionDenied,
)
from citybase.core.identity.principal import Principal, authorize
from citybase.events.models import WorkOrder
from citybase.grid import service as grid


def _is_unit_member(principal: Principal, order: WorkOrder) -> bool:
    return principal.is_system or (principal.org_code is not None
                                   and principal.org_code in [order.main_unit, *(order.assist_units or [])])


def _check_handler(principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.handle")
    if principal.is_system or principal.org_code == order.main_unit:
        return
    raise PermissionDenied("只有主办单位可以办理此工单", code="not_assigned_unit",
                           detail={"number": order.number, "main_unit": order.main_unit})


def _grid_workers(session: Session, grid_code: str | None) -> list[str]:
    if not grid_code:
        return []
    return list(grid.grid_workers(session, grid_code))


def _check_verifier(session: Session, principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.verify")
    if principal.is_system:
        return
    if principal.username in _grid_workers(session, order.grid_code):
        return
    if principal.org_code and principal.org_code in (order.street_code, order.grid_code):
        return
    raise PermissionDenied("只有该网格的网格员可以核查此工单", code="not_grid_worker",
                           detail={"number": order.number, "grid_code": order.grid_code})


def can_read_all(principal: Principal) -> bool:
    return principal.is_system or principal.role in ("operator", "admin", "auditor")


def _check_visible(session: Session, principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.read")
    if can_read_all(principal) or _is_unit_member(principal, order):
        return
    if principal.role == "grid_worker" and principal.org_code in (order.street_code, order.grid_code, order.district_code):
        return
    if principal.role == "grid_worker" and principal.username in _grid_workers(session, order.grid_code):
        return
    if principal.org_code and principal.org_code in (order.street_code, order.district_code):
        return
    raise PermissionDenied("无权查看该工单（只能查看本单位的工单）", code="order_not_visible")


def scope_filter(principal: Principal) -> Any:
    """SQL condition limiting orders to those the principal may read."""
    if can_read_all(principal):
        return None
    org = principal.org_code or "-"
    conds = [WorkOrder.main_unit == org, WorkOrder.street_code == org, WorkOrder.district_code == org,
             WorkOrder.grid_code == org]
    return or_(*conds)
