"""quality: rules, reports, 一数一源 conflict sets, objections

Revision ID: quality_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "quality_0001"
down_revision = None
branch_labels = ("quality",)
depends_on = "lake_0001"


def upgrade() -> None:
    op.create_table(
        "quality_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("rule_type", sa.String(20), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_quality_rule_resource_code", "quality_rule", ["resource_code"])
    op.create_table(
        "quality_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("failed_rules", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("resource_code", "version_number", name="uq_quality_report_resource_version"),
    )
    op.create_index("ix_quality_report_resource_code", "quality_report", ["resource_code"])
    op.create_table(
        "quality_conflict_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("key_label", sa.String(60), nullable=False),
        sa.Column("key_element", sa.String(20), nullable=False),
        sa.Column("value_element", sa.String(20), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "quality_objection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("provider_code", sa.String(40), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("row_key", sa.String(200), nullable=False),
        sa.Column("field_name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("raised_by", sa.String(120), nullable=False),
        sa.Column("raised_org", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(120), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("fixed_version", sa.Integer(), nullable=True),
        sa.Column("fixed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_quality_objection_resource_code", "quality_objection", ["resource_code"])
    op.create_index("ix_quality_objection_provider_code", "quality_objection", ["provider_code"])
    op.create_index("ix_quality_objection_status", "quality_objection", ["status"])
    op.create_index("ix_quality_objection_raised_by", "quality_objection", ["raised_by"])
    op.create_table(
        "quality_objection_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("objection_id", sa.Integer(), sa.ForeignKey(
            "quality_objection.id", ondelete="CASCADE",
            name="fk_quality_objection_event_objection_id_quality_objection"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(12), nullable=True),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_quality_objection_event_objection_id", "quality_objection_event", ["objection_id"])


def downgrade() -> None:
    op.drop_table("quality_objection_event")
    op.drop_table("quality_objection")
    op.drop_table("quality_conflict_set")
    op.drop_table("quality_report")
    op.drop_table("quality_rule")
