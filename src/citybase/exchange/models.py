"""共享交换 tables: requests, grants, the access log, subscriptions, deliveries and notifications.

Lists (fields, row filters) are stored as JSON text so the same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime

BIG = BigInteger().with_variant(Integer, "sqlite")


class ShareRequest(Base):
    __tablename__ = "exchange_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    provider_code: Mapped[str] = mapped_column(String(40), index=True)
    consumer_code: Mapped[str] = mapped_column(String(40), index=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    fields: Mapped[list] = mapped_column(JSON, default=list)
    clear_fields: Mapped[list] = mapped_column(JSON, default=list)
    row_filter: Mapped[list] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    period_days: Mapped[int] = mapped_column(Integer, default=365)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    in_time: Mapped[bool | None] = mapped_column(Boolean)
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_id: Mapped[int | None] = mapped_column(Integer)


class ShareGrant(Base):
    __tablename__ = "exchange_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    provider_code: Mapped[str] = mapped_column(String(40), index=True)
    consumer_code: Mapped[str] = mapped_column(String(40), index=True)
    request_id: Mapped[int | None] = mapped_column(Integer)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    clear_fields: Mapped[list] = mapped_column(JSON, default=list)
    row_filter: Mapped[list] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class ShareAccess(Base):
    """One shared-data call (the provider's view of who read what; the ledger holds the same entry)."""

    __tablename__ = "exchange_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    provider_code: Mapped[str] = mapped_column(String(40), index=True)
    consumer_code: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    grant_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    clear_fields: Mapped[list] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(BIG, default=0)
    purpose: Mapped[str] = mapped_column(Text, default="")
    audit_seq: Mapped[int | None] = mapped_column(BIG)


class Subscription(Base):
    __tablename__ = "exchange_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    subscriber_code: Mapped[str] = mapped_column(String(40), index=True)
    district_code: Mapped[str] = mapped_column(String(12))
    filter_field: Mapped[str] = mapped_column(String(63))
    target_code: Mapped[str | None] = mapped_column(String(64))
    grant_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    last_version: Mapped[int | None] = mapped_column(Integer)


class Delivery(Base):
    __tablename__ = "exchange_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(Integer, index=True)
    source_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    target_version: Mapped[int | None] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(BIG, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class Notification(Base):
    __tablename__ = "exchange_notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
