"""catalog: change requests for published resources

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_id", sa.Integer(), sa.ForeignKey(
            "catalog_resource.id", ondelete="CASCADE", name="fk_catalog_change_resource_id_catalog_resource"),
            nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(120), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_catalog_change_resource_id", "catalog_change", ["resource_id"])
    op.create_index("ix_catalog_change_status", "catalog_change", ["status"])


def downgrade() -> None:
    op.drop_table("catalog_change")
