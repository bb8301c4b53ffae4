"""开放平台 tables: ratings, comments, 需求通道, applications for 有条件开放 data, developer keys,
usage counters and the download log (for "downloaded together")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime


class Rating(Base):
    __tablename__ = "opendata_rating"
    __table_args__ = (UniqueConstraint("resource_code", "username", name="uq_opendata_rating_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(120))
    stars: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    __tablename__ = "opendata_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(120))
    author: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Demand(Base):
    __tablename__ = "opendata_demand"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(120), default="")  # username or "anonymous"
    contact: Mapped[str] = mapped_column(String(200), default="")  # never shown publicly
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open|routed|answered
    routed_to: Mapped[str | None] = mapped_column(String(40), index=True)
    routed_by: Mapped[str | None] = mapped_column(String(120))
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resource_code: Mapped[str | None] = mapped_column(String(40))  # the dataset that answers it, if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Application(Base):
    __tablename__ = "opendata_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    provider_code: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    applicant: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|approved|rejected
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Developer(Base):
    __tablename__ = "opendata_developer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    key_prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_limit: Mapped[int] = mapped_column(Integer, default=600)  # calls per minute
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Usage(Base):
    """Per dataset and day: views, downloads, api calls (kind)."""

    __tablename__ = "opendata_usage"
    __table_args__ = (UniqueConstraint("resource_code", "day", "kind", name="uq_opendata_usage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)  # "" for calls not about one dataset
    day: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))  # view|download|api
    count: Mapped[int] = mapped_column(Integer, default=0)


class DownloadLog(Base):
    __tablename__ = "opendata_download"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    visitor: Mapped[str] = mapped_column(String(64), index=True)  # hashed visitor id
    fmt: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
