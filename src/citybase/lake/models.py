"""Lake tables: the version index (the truth about what is stored), the current pointer,
SQL sources and wizard ingest jobs. Parquet files live under ``lake_dir``; a folder without a
row here is an orphan of a killed ingest and is never listed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybase.db import Base, UTCDateTime

BIG = BigInteger().with_variant(Integer, "sqlite")


class LakeVersion(Base):
    __tablename__ = "lake_version"
    __table_args__ = (UniqueConstraint("resource_code", "number", name="uq_lake_version_resource_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(BIG, default=0)
    columns: Mapped[list] = mapped_column(JSON, default=list)
    path: Mapped[str] = mapped_column(String(300))  # relative to lake_dir
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(400), default="")
    source_label: Mapped[str] = mapped_column(String(200), default="")
    input_sm3: Mapped[str] = mapped_column(String(64), default="")
    input_bytes: Mapped[int] = mapped_column(BIG, default=0)
    encoding: Mapped[str] = mapped_column(String(20), default="")
    mode: Mapped[str] = mapped_column(String(10), default="replace")
    rows_added: Mapped[int] = mapped_column(BIG, default=0)
    rows_removed: Mapped[int] = mapped_column(BIG, default=0)
    rows_changed: Mapped[int] = mapped_column(BIG, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    cast_failures: Mapped[dict] = mapped_column(JSON, default=dict)  # {column: count}
    pruned: Mapped[bool] = mapped_column(Boolean, default=False)


class LakePointer(Base):
    __tablename__ = "lake_pointer"

    resource_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_number: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LakeSqlSource(Base):
    __tablename__ = "lake_sql_source"

    resource_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(10), default="replace")
    timeout_s: Mapped[int] = mapped_column(Integer, default=300)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str] = mapped_column(String(20), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LakeIngestJob(Base):
    __tablename__ = "lake_ingest_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default="uploaded")  # uploaded|running|done|failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(400), default="")
    filename: Mapped[str] = mapped_column(String(300))
    upload_path: Mapped[str] = mapped_column(String(500))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    version_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
