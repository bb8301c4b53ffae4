"""catalog: resources, 信息项, lifecycle events, code sequences, index state

Revision ID: catalog_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = "0001_core"

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "catalog_resource",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("class_code", sa.String(12), nullable=False),
        sa.Column("class_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("catalog_type", sa.String(4), nullable=False),
        sa.Column("provider_code", sa.String(40), sa.ForeignKey(
            "organisation.code", name="fk_catalog_resource_provider_code_organisation"), nullable=False),
        sa.Column("format", sa.String(60), nullable=False, server_default=""),
        sa.Column("share_type", sa.String(10), nullable=False),
        sa.Column("share_condition", sa.Text(), nullable=False, server_default=""),
        sa.Column("share_method", sa.String(200), nullable=False, server_default=""),
        sa.Column("share_basis", sa.Text(), nullable=False, server_default=""),
        sa.Column("open_type", sa.String(10), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=False, server_default=""),
        sa.Column("update_cycle", sa.String(10), nullable=False),
        sa.Column("publish_date", sa.Date(), nullable=True),
        sa.Column("related_codes", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("keywords", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("status", sa.String(12), nullable=False, server_default="draft"),
        sa.Column("review_comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(120), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("rev", BIG, nullable=False, server_default="0"),
        sa.Column("search_terms", sa.Text(), nullable=False, server_default="{}"),
        sa.UniqueConstraint("code", name="uq_catalog_resource_code"),
    )
    op.create_index("ix_catalog_resource_class_code", "catalog_resource", ["class_code"])
    op.create_index("ix_catalog_resource_provider_code", "catalog_resource", ["provider_code"])
    op.create_index("ix_catalog_resource_status", "catalog_resource", ["status"])
    op.create_index("ix_catalog_resource_rev", "catalog_resource", ["rev"])
    op.create_table(
        "catalog_field",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_id", sa.Integer(), sa.ForeignKey(
            "catalog_resource.id", ondelete="CASCADE", name="fk_catalog_field_resource_id_catalog_resource"),
            nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("data_type", sa.String(10), nullable=False),
        sa.Column("element", sa.String(20), nullable=False),
        sa.Column("grading", sa.String(2), nullable=False),
        sa.Column("nullable", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("is_key", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("enum_values", sa.Text(), nullable=False, server_default="[]"),
        sa.UniqueConstraint("resource_id", "name", name="uq_catalog_field_resource_name"),
    )
    op.create_index("ix_catalog_field_resource_id", "catalog_field", ["resource_id"])
    op.create_table(
        "catalog_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_id", sa.Integer(), sa.ForeignKey(
            "catalog_resource.id", ondelete="CASCADE", name="fk_catalog_event_resource_id_catalog_resource"),
            nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("org_code", sa.String(40), nullable=True),
        sa.Column("from_status", sa.String(12), nullable=True),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_catalog_event_resource_id", "catalog_event", ["resource_id"])
    op.create_table(
        "catalog_sequence",
        sa.Column("class_code", sa.String(12), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", BIG, nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO catalog_state (id, generation) VALUES (1, 0)")


def downgrade() -> None:
    for table in ("catalog_state", "catalog_sequence", "catalog_event", "catalog_field", "catalog_resource"):
        op.drop_table(table)
