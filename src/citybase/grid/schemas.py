"""Input and output shapes of the grid module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class GridHit(BaseModel):
    """Where a point lies: grid, community, street and district (codes and names)."""

    grid_code: str
    grid_name: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    district_code: str
    district_name: str


class CommunityOut(BaseModel):
    code: str
    name: str
    kind: str
    street_code: str
    street_name: str
    district_code: str
    district_name: str
    generated: bool
    grid_count: int = 0


class GridOut(BaseModel):
    code: str
    name: str
    community_code: str
    community_name: str
    community_kind: str
    street_code: str
    street_name: str
    district_code: str
    district_name: str
    area_km2: float
    centroid: tuple[float, float]
    source: str
    generated_names: bool
    workers: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class GridDetail(GridOut):
    geometry: dict[str, Any]
    open_orders: int | None = None  # None: the events module is not installed


class GridPage(BaseModel):
    items: list[GridOut]
    total: int
    page: int
    size: int


class AssignmentIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)


class AssignmentOut(BaseModel):
    grid_code: str
    username: str
    assigned_by: str
    assigned_at: datetime


class LayerResult(BaseModel):
    """What an import or a generation wrote."""

    version: str
    districts: int
    streets: int
    communities: int
    grids: int
    area_km2: float
    assignments_kept: int = 0
    assignments_dropped: int = 0
    mode: str = "replace"
    source: str = "import"
