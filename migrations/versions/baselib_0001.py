"""baselib: source mappings, builds, state

Revision ID: baselib_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "baselib_0001"
down_revision = None
branch_labels = ("baselib",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "baselib_source",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("library", sa.String(20), nullable=False),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("key_field", sa.String(64), nullable=False),
        sa.Column("attr_map", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("library", "resource_code", name="uq_baselib_source_library"),
    )
    op.create_index("ix_baselib_source_library", "baselib_source", ["library"])
    op.create_index("ix_baselib_source_resource_code", "baselib_source", ["resource_code"])
    op.create_table(
        "baselib_state",
        sa.Column("library", sa.String(20), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("stale_reason", sa.String(200), nullable=False),
        sa.Column("stale_since", UTCDateTime(), nullable=True),
        sa.Column("last_build", sa.Integer(), nullable=False),
    )
    op.create_table(
        "baselib_build",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("library", sa.String(20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("built_at", UTCDateTime(), nullable=False),
        sa.Column("built_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rejected_keys", sa.Integer(), nullable=False),
        sa.Column("lake_version", sa.Integer(), nullable=True),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("winners", sa.Text(), nullable=False),
        sa.Column("coverage", sa.Text(), nullable=False),
        sa.Column("conflicts", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.UniqueConstraint("library", "number", name="uq_baselib_build_library"),
    )
    op.create_index("ix_baselib_build_library", "baselib_build", ["library"])


def downgrade() -> None:
    for t in ("baselib_build", "baselib_state", "baselib_source"):
        op.drop_table(t)
