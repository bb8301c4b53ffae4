"""Grid tables: communities, unit grids, worker assignments and the layer version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime


class GridCommunity(Base):
    """社区/村: 12-digit code = street 9 + community 3."""

    __tablename__ = "grid_community"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="社区")  # 社区 | 村
    street_code: Mapped[str] = mapped_column(String(9), nullable=False, index=True)
    district_code: Mapped[str] = mapped_column(String(6), nullable=False, index=True)
    generated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class Grid(Base):
    """单元网格: 15-digit code = district 6 + street 3 + community 3 + grid 3. WGS84 GeoJSON geometry."""

    __tablename__ = "grid_cell"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    community_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("grid_community.code", name="fk_grid_cell_community_code_grid_community"),
        nullable=False, index=True)
    street_code: Mapped[str] = mapped_column(String(9), nullable=False, index=True)
    district_code: Mapped[str] = mapped_column(String(6), nullable=False, index=True)
    geometry: Mapped[str] = mapped_column(Text, nullable=False)  # GeoJSON geometry (Polygon/MultiPolygon)
    area_km2: Mapped[float] = mapped_column(Float, nullable=False)
    centroid_lon: Mapped[float] = mapped_column(Float, nullable=False)
    centroid_lat: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="import")  # generated | import
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class GridAssignment(Base):
    """A grid worker (a user with role grid_worker, named by username) assigned to a grid."""

    __tablename__ = "grid_assignment"
    __table_args__ = (UniqueConstraint("grid_code", "username", name="uq_grid_assignment_grid_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_code: Mapped[str] = mapped_column(
        String(15), ForeignKey("grid_cell.code", ondelete="CASCADE",
                               name="fk_grid_assignment_grid_code_grid_cell"),
        nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    assigned_by: Mapped[str] = mapped_column(String(80), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class GridState(Base):
    """Key/value facts about the grid layer (``version`` keys the in-process spatial index)."""

    __tablename__ = "grid_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
