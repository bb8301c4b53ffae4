"""Tables of 一网统管: problem types with SLAs, the dispatch catalogue, work orders, their
timeline, photos, and the timer rows the job worker fires exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime


class ProblemType(Base):
    __tablename__ = "ev_problem_type"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # 部件 | 事件 | 12345
    major_code: Mapped[str] = mapped_column(String(20), default="")
    major_name: Mapped[str] = mapped_column(String(40), default="")
    minor_name: Mapped[str] = mapped_column(String(80), default="")
    sla_unit: Mapped[str] = mapped_column(String(12), default="work_hours")  # work_hours | work_days
    sign_in: Mapped[float] = mapped_column(Float, default=1.0)
    handle: Mapped[float] = mapped_column(Float, default=8.0)
    warn_ratio: Mapped[float] = mapped_column(Float, default=0.8)
    escalation: Mapped[list] = mapped_column(JSON, default=list)
    default_unit_key: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DispatchRule(Base):
    """派单目录: type × area → 主办 and 协办 units. ``None`` type or area means any."""

    __tablename__ = "ev_dispatch_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_code: Mapped[str | None] = mapped_column(String(40), index=True)
    area_code: Mapped[str | None] = mapped_column(String(20))  # a division code prefix
    main_unit: Mapped[str] = mapped_column(String(40))  # org code, or "{district}-<key>" / "{street}"
    assist_units: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkOrder(Base):
    __tablename__ = "ev_order"
    __table_args__ = (
        Index("ix_ev_order_status_due", "status", "handle_due_at"),
        Index("ix_ev_order_type_received", "type_code", "received_at"),
        Index("ix_ev_order_main_unit", "main_unit", "status"),
        Index("ix_ev_order_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16))  # indexed by ix_ev_order_status_due
    type_code: Mapped[str | None] = mapped_column(String(40))
    type_name: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(10), default="")
    suggested_type: Mapped[str | None] = mapped_column(String(40))
    suggested_confidence: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(20), index=True)
    community_code: Mapped[str | None] = mapped_column(String(20))
    street_code: Mapped[str | None] = mapped_column(String(20), index=True)
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    reporter_name: Mapped[str] = mapped_column(String(40), default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), default="")
    external_id: Mapped[str | None] = mapped_column(String(80))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    master_number: Mapped[str | None] = mapped_column(String(24))
    main_unit: Mapped[str | None] = mapped_column(String(40))
    assist_units: Mapped[list] = mapped_column(JSON, default=list)
    sla: Mapped[dict] = mapped_column(JSON, default=dict)  # snapshot taken at intake
    reply: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(12))  # satisfied | unsatisfied | unreachable
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    callback_tries: Mapped[int] = mapped_column(Integer, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    timer_round: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    handle_seconds: Mapped[int | None] = mapped_column(Integer)  # dispatched → closed, set at 办结
    pending_extension: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120), default="")


class OrderEvent(Base):
    """The order's timeline (one row per transition or timer action)."""

    __tablename__ = "ev_order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("ev_order.id", ondelete="CASCADE"), index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class OrderPhoto(Base):
    __tablename__ = "ev_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("ev_order.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(12))  # intake | feedback
    path: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Timer(Base):
    """One timer action per (order, kind, step); ``fired_at`` is set in the action's transaction."""

    __tablename__ = "ev_timer"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", "step", name="uq_ev_timer_order_kind_step"),
        Index("ix_ev_timer_pending", "fired_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("ev_order.id", ondelete="CASCADE"))  # indexed by the unique
    kind: Mapped[str] = mapped_column(String(16))  # sign_due | warn | handle_due | urge | supervise
    step: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(20), default="")
