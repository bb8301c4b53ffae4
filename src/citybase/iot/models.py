"""IoT tables: device profiles, devices, attributes, raw readings (time-partitioned on PostgreSQL),
latest values, roll-ups, rule state, alarms, archive index and job cursors.

Reading timestamps are epoch milliseconds (BIGINT, UTC), as ThingsBoard stores them: compact, fast
to compare on both backends and trivially partitioned by range.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime

BIG = BigInteger().with_variant(Integer(), "sqlite")


class Profile(Base):
    __tablename__ = "iot_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    device_type: Mapped[str] = mapped_column(String(60))
    component_class: Mapped[str] = mapped_column(String(8), default="")
    org_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"), index=True)
    quantities: Mapped[list] = mapped_column(JSON, default=list)  # [{key,label,unit,min,max}]
    rules: Mapped[list] = mapped_column(JSON, default=list)  # rule dicts
    interval_s: Mapped[int] = mapped_column(Integer, default=300)
    raw_retention_days: Mapped[int] = mapped_column(Integer, default=90)
    agg_retention_days: Mapped[int] = mapped_column(Integer, default=1825)
    order_severity: Mapped[str | None] = mapped_column(String(12))
    open_type: Mapped[str] = mapped_column(String(12), default="不予开放")
    resource_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    __tablename__ = "iot_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    profile_id: Mapped[int] = mapped_column(ForeignKey("iot_profile.id"), index=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(40), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | revoked
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    mqtt_username: Mapped[str | None] = mapped_column(String(64), unique=True)
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(200))
    last_seen_ms: Mapped[int | None] = mapped_column(BIG)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attribute(Base):
    __tablename__ = "iot_attribute"

    device_id: Mapped[int] = mapped_column(ForeignKey("iot_device.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # static | shared | reported
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reading(Base):
    """Raw telemetry. PostgreSQL: declaratively partitioned by month on ``ts`` (see the migration)."""

    __tablename__ = "iot_reading"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40), primary_key=True)
    ts: Mapped[int] = mapped_column(BIG, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    flag: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 ok, 1 out of range, 2 undeclared


class Latest(Base):
    __tablename__ = "iot_latest"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40), primary_key=True)
    ts: Mapped[int] = mapped_column(BIG)
    value: Mapped[float] = mapped_column(Float)
    flag: Mapped[int] = mapped_column(SmallInteger, default=0)


class Dirty(Base):
    """(device, hour) buckets whose roll-ups must be recomputed."""

    __tablename__ = "iot_dirty"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour_ms: Mapped[int] = mapped_column(BIG, primary_key=True)


class Rollup(Base):
    __tablename__ = "iot_rollup"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40), primary_key=True)
    grain: Mapped[str] = mapped_column(String(6), primary_key=True)  # minute | hour | day
    bucket: Mapped[int] = mapped_column(BIG, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)
    vlast: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[int] = mapped_column(BIG)


class RuleState(Base):
    __tablename__ = "iot_rule_state"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    since_ms: Mapped[int | None] = mapped_column(BIG)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_ts: Mapped[int] = mapped_column(BIG, default=0)
    # JSON {quantity: [ts, value]} for rate rules, kept as TEXT on purpose: written and read in bulk with
    # driver-level SQL on every ingest batch (alarms._save_states), where no column type applies
    prev: Mapped[str] = mapped_column(Text, default="{}")


class Alarm(Base):
    __tablename__ = "iot_alarm"
    __table_args__ = (Index("ix_iot_alarm_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("iot_device.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE_UNACK | ACTIVE_ACK | CLEARED
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # "device:type" while active
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    clear_reason: Mapped[str | None] = mapped_column(String(20))  # condition | silence | manual | order
    repeat_count: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    order_state: Mapped[str] = mapped_column(String(12), default="none")  # none|pending|open|closed|unavailable
    order_number: Mapped[str | None] = mapped_column(String(40), index=True)


class Archive(Base):
    __tablename__ = "iot_archive"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("iot_profile.id"), index=True)
    from_ms: Mapped[int] = mapped_column(BIG)
    to_ms: Mapped[int] = mapped_column(BIG)
    path: Mapped[str] = mapped_column(String(400))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobState(Base):
    __tablename__ = "iot_job_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
