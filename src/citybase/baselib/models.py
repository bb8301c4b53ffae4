"""Base-library tables: source mappings, builds (with provenance statistics) and staleness."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime


class BaselibSource(Base):
    __tablename__ = "baselib_source"
    __table_args__ = (UniqueConstraint("library", "resource_code", name="uq_baselib_source_library"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library: Mapped[str] = mapped_column(String(20), index=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    key_field: Mapped[str] = mapped_column(String(64))
    attr_map: Mapped[dict] = mapped_column(JSON)  # {library attr: source column or "=literal"}
    priority: Mapped[int] = mapped_column(Integer, default=50)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BaselibState(Base):
    __tablename__ = "baselib_state"

    library: Mapped[str] = mapped_column(String(20), primary_key=True)
    resource_code: Mapped[str | None] = mapped_column(String(64))  # the library's own catalogue resource
    stale: Mapped[bool] = mapped_column(Boolean, default=True)
    stale_reason: Mapped[str] = mapped_column(String(200), default="")
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_build: Mapped[int] = mapped_column(Integer, default=0)


class BaselibBuild(Base):
    __tablename__ = "baselib_build"
    __table_args__ = (UniqueConstraint("library", "number", name="uq_baselib_build_library"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library: Mapped[str] = mapped_column(String(20), index=True)
    number: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    built_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_keys: Mapped[int] = mapped_column(Integer, default=0)
    lake_version: Mapped[int | None] = mapped_column(Integer)
    sources: Mapped[list] = mapped_column(JSON)  # [{resource, version, rows, priority}]
    winners: Mapped[dict] = mapped_column(JSON)  # {attr: {resource: count}}
    coverage: Mapped[dict] = mapped_column(JSON)  # {attr: {present, valid, share}}
    conflicts: Mapped[dict] = mapped_column(JSON)  # {attr: count of keys where sources disagree}
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
