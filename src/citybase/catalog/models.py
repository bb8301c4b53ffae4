"""Tables of the catalogue: resources, their 信息项, lifecycle history, code sequences, index state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citybase.core.time import utcnow
from citybase.db import Base, UTCDateTime

BIG = BigInteger().with_variant(Integer(), "sqlite")


class Resource(Base):
    __tablename__ = "catalog_resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    class_code: Mapped[str] = mapped_column(String(12), index=True)
    class_name: Mapped[str] = mapped_column(String(100), default="")
    catalog_type: Mapped[str] = mapped_column(String(4))
    provider_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"), index=True)
    format: Mapped[str] = mapped_column(String(60), default="")
    share_type: Mapped[str] = mapped_column(String(10))
    share_condition: Mapped[str] = mapped_column(Text, default="")
    share_method: Mapped[str] = mapped_column(String(200), default="")
    share_basis: Mapped[str] = mapped_column(Text, default="")
    open_type: Mapped[str] = mapped_column(String(10))
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(10))
    publish_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list] = mapped_column(JSON, default=list)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), index=True, default="draft")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rev: Mapped[int] = mapped_column(BIG, index=True, default=0)  # search index revision
    search_terms: Mapped[dict] = mapped_column(JSON, default=dict)  # precomputed search terms

    fields: Mapped[list[Field]] = relationship(back_populates="resource", cascade="all, delete-orphan",
                                               order_by="Field.position")


class Field(Base):
    __tablename__ = "catalog_field"
    __table_args__ = (UniqueConstraint("resource_id", "name", name="uq_catalog_field_resource_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(10))
    element: Mapped[str] = mapped_column(String(20))
    grading: Mapped[str] = mapped_column(String(2))
    nullable: Mapped[bool] = mapped_column(Boolean, default=True)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    enum_values: Mapped[list] = mapped_column(JSON, default=list)

    resource: Mapped[Resource] = relationship(back_populates="fields")


class ResourceEvent(Base):
    """Lifecycle history shown on the detail page (the audit ledger holds the signed record)."""

    __tablename__ = "catalog_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(120))
    org_code: Mapped[str | None] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeSequence(Base):
    """The last sequence number handed out per class code (resource codes are class + sequence)."""

    __tablename__ = "catalog_sequence"

    class_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class CatalogState(Base):
    """One row: the catalogue's generation, bumped by every change (search indexes reload on change)."""

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BIG, default=0)


class ChangeRequest(Base):
    """A proposed edit of a published resource, waiting for the bureau (the resource stays as it is)."""

    __tablename__ = "catalog_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    proposed: Mapped[dict] = mapped_column(JSON, default=dict)  # a ResourceIn as JSON
    changed: Mapped[list] = mapped_column(JSON, default=list)  # the names of the changed attributes
    status: Mapped[str] = mapped_column(String(12), index=True, default="pending")  # pending|approved|rejected
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
