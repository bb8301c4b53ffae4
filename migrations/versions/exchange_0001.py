"""exchange: share requests, grants, access log, subscriptions, deliveries, notifications

Revision ID: exchange_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "exchange_0001"
down_revision = None
branch_labels = ("exchange",)
depends_on = ("catalog_0001", "lake_0001")

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("provider_code", sa.String(40), nullable=False, index=True),
        sa.Column("consumer_code", sa.String(40), nullable=False, index=True),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("clear_fields", sa.Text(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("in_time", sa.Boolean(), nullable=True),
        sa.Column("overdue_flagged_at", UTCDateTime(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
    )
    op.create_table(
        "exchange_grant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("provider_code", sa.String(40), nullable=False, index=True),
        sa.Column("consumer_code", sa.String(40), nullable=False, index=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("clear_fields", sa.Text(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(120), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "exchange_access",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ts", UTCDateTime(), nullable=False, index=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("provider_code", sa.String(40), nullable=False, index=True),
        sa.Column("consumer_code", sa.String(40), nullable=False, index=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("clear_fields", sa.Text(), nullable=False),
        sa.Column("row_count", BIG, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("audit_seq", BIG, nullable=True),
    )
    op.create_table(
        "exchange_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("subscriber_code", sa.String(40), nullable=False, index=True),
        sa.Column("district_code", sa.String(12), nullable=False),
        sa.Column("filter_field", sa.String(63), nullable=False),
        sa.Column("target_code", sa.String(64), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "exchange_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), nullable=False, index=True),
        sa.Column("source_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("row_count", BIG, nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_table(
        "exchange_notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    for name in ("exchange_notification", "exchange_delivery", "exchange_subscription", "exchange_access",
                 "exchange_grant", "exchange_request"):
        op.drop_table(name)
