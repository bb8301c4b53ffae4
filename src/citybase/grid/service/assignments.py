"""Grid workers assigned to grids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.identity.roles import Role
from citybase.core.time import utcnow
from citybase.grid.models import GridAssignment
from citybase.grid.schemas import (
    AssignmentOut,
)
from citybase.grid.service.grids import _grid_row, grid_workers


def assign_worker(session: Session, principal: Principal, grid_code: str, username: str) -> AssignmentOut:
    """Assign a grid worker (an active user with role grid_worker) to a grid. Audited."""
    authorize(principal, "grid.assign")
    grid = _grid_row(session, grid_code)
    user = identity.get_user(session, username.strip())
    if user.role != Role.GRID_WORKER.value:
        raise BadInput(f"用户 {user.username} 不是网格员，不能分配到网格", code="not_grid_worker",
                       detail={"username": user.username, "role": user.role})
    if not user.active:
        raise BadInput(f"用户 {user.username} 已停用，不能分配到网格", code="user_inactive")
    exists = session.execute(select(GridAssignment.id).where(GridAssignment.grid_code == grid.code,
                                                             GridAssignment.username == user.username)).first()
    if exists:
        raise Conflict(f"网格员 {user.username} 已分配到网格 {grid.code}", code="already_assigned")
    row = GridAssignment(grid_code=grid.code, username=user.username, assigned_by=principal.actor,
                         assigned_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "grid.assign", "grid", grid.code, {"username": user.username})
    return AssignmentOut(grid_code=row.grid_code, username=row.username, assigned_by=row.assigned_by,
                         assigned_at=row.assigned_at)


def candidate_workers(session: Session, grid_code: str) -> list[dict[str, Any]]:
    """Grid-worker accounts of the grid's street and district organisations, marked if assigned."""
    grid = _grid_row(session, grid_code)
    assigned = set(grid_workers(session, grid.code))
    out = []
    for org in (grid.street_code, grid.district_code):
        for u in identity.users_in_org(session, org, role=Role.GRID_WORKER.value):
            out.append({"username": u.username, "display_name": u.display_name, "org_code": u.org_code,
                        "assigned": u.username in assigned})
    return out


def unassign_worker(session: Session, principal: Principal, grid_code: str, username: str) -> None:
    """Remove a grid worker from a grid. Audited."""
    authorize(principal, "grid.assign")
    grid = _grid_row(session, grid_code)
    row = session.execute(select(GridAssignment).where(GridAssignment.grid_code == grid.code,
                                                       GridAssignment.username == username)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"网格员 {username} 未分配到网格 {grid.code}", code="not_assigned")
    session.delete(row)
    session.flush()
    audit.record(session, principal, "grid.unassign", "grid", grid.code, {"username": username})
