"""opendata: ratings, comments, demands, applications, developer keys, usage, download log

Revision ID: opendata_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "opendata_0001"
down_revision = None
branch_labels = ("opendata",)
depends_on = "catalog_0001"


def upgrade() -> None:
    op.create_table(
        "opendata_rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(40), nullable=False, index=True),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("resource_code", "username", name="uq_opendata_rating_user"),
    )
    op.create_table(
        "opendata_comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(40), nullable=False, index=True),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("author", sa.String(120), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "opendata_demand",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requester", sa.String(120), nullable=False, server_default=""),
        sa.Column("contact", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(12), nullable=False, server_default="open", index=True),
        sa.Column("routed_to", sa.String(40), nullable=True, index=True),
        sa.Column("routed_by", sa.String(120), nullable=True),
        sa.Column("routed_at", UTCDateTime(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False, server_default=""),
        sa.Column("answered_by", sa.String(120), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("resource_code", sa.String(40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "opendata_application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(40), nullable=False, index=True),
        sa.Column("provider_code", sa.String(40), nullable=False, index=True),
        sa.Column("username", sa.String(120), nullable=False, index=True),
        sa.Column("applicant", sa.String(200), nullable=False, server_default=""),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending", index=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "opendata_developer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False, server_default=""),
        sa.Column("key_prefix", sa.String(16), nullable=False, index=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("rate_limit", sa.Integer(), nullable=False, server_default="600"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("calls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "opendata_usage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(40), nullable=False, index=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("resource_code", "day", "kind", name="uq_opendata_usage"),
    )
    op.create_table(
        "opendata_download",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(40), nullable=False, index=True),
        sa.Column("visitor", sa.String(64), nullable=False, index=True),
        sa.Column("fmt", sa.String(10), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for name in ("opendata_download", "opendata_usage", "opendata_developer", "opendata_application",
                 "opendata_demand", "opendata_comment", "opendata_rating"):
        op.drop_table(name)
