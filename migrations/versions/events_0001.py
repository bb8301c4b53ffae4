"""events: problem types, dispatch catalogue, work orders, timeline, photos, timers

Revision ID: events_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "ev_problem_type",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("major_code", sa.String(20), nullable=False),
        sa.Column("major_name", sa.String(40), nullable=False),
        sa.Column("minor_name", sa.String(80), nullable=False),
        sa.Column("sla_unit", sa.String(12), nullable=False),
        sa.Column("sign_in", sa.Float(), nullable=False),
        sa.Column("handle", sa.Float(), nullable=False),
        sa.Column("warn_ratio", sa.Float(), nullable=False),
        sa.Column("escalation", sa.JSON(), nullable=False),
        sa.Column("default_unit_key", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "ev_dispatch_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type_code", sa.String(40), nullable=True),
        sa.Column("area_code", sa.String(20), nullable=True),
        sa.Column("main_unit", sa.String(40), nullable=False),
        sa.Column("assist_units", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ev_dispatch_rule_type_code", "ev_dispatch_rule", ["type_code"])
    op.create_table(
        "ev_order",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("type_code", sa.String(40), nullable=True),
        sa.Column("type_name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("suggested_type", sa.String(40), nullable=True),
        sa.Column("suggested_confidence", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(20), nullable=True),
        sa.Column("community_code", sa.String(20), nullable=True),
        sa.Column("street_code", sa.String(20), nullable=True),
        sa.Column("district_code", sa.String(12), nullable=True),
        sa.Column("reporter_name", sa.String(40), nullable=False),
        sa.Column("reporter_phone", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(80), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("master_number", sa.String(24), nullable=True),
        sa.Column("main_unit", sa.String(40), nullable=True),
        sa.Column("assist_units", sa.JSON(), nullable=False),
        sa.Column("sla", sa.JSON(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        sa.Column("sign_due_at", UTCDateTime(), nullable=True),
        sa.Column("signed_at", UTCDateTime(), nullable=True),
        sa.Column("handle_due_at", UTCDateTime(), nullable=True),
        sa.Column("feedback_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.Column("suspended_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("signed_on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sa.String(12), nullable=True),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("callback_tries", sa.Integer(), nullable=False),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("timer_round", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("handle_seconds", sa.Integer(), nullable=True),
        sa.Column("pending_extension", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.UniqueConstraint("number", name="uq_ev_order_number"),
    )
    op.create_index("ix_ev_order_status", "ev_order", ["status"])
    op.create_index("ix_ev_order_status_due", "ev_order", ["status", "handle_due_at"])
    op.create_index("ix_ev_order_type_received", "ev_order", ["type_code", "received_at"])
    op.create_index("ix_ev_order_main_unit", "ev_order", ["main_unit", "status"])
    op.create_index("ix_ev_order_external_id", "ev_order", ["external_id"])
    op.create_index("ix_ev_order_grid_code", "ev_order", ["grid_code"])
    op.create_index("ix_ev_order_street_code", "ev_order", ["street_code"])
    op.create_index("ix_ev_order_district_code", "ev_order", ["district_code"])
    op.create_index("ix_ev_order_received_at", "ev_order", ["received_at"])
    op.create_index("ix_ev_order_closed_at", "ev_order", ["closed_at"])
    op.create_table(
        "ev_order_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("ev_order.id", ondelete="CASCADE",
                  name="fk_ev_order_event_order_id_ev_order"), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_ev_order_event_order_id", "ev_order_event", ["order_id"])
    op.create_table(
        "ev_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("ev_order.id", ondelete="CASCADE",
                  name="fk_ev_photo_order_id_ev_order"), nullable=False),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_ev_photo_order_id", "ev_photo", ["order_id"])
    op.create_table(
        "ev_timer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("ev_order.id", ondelete="CASCADE",
                  name="fk_ev_timer_order_id_ev_order"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        sa.Column("result", sa.String(20), nullable=False),
        sa.UniqueConstraint("order_id", "kind", "step", name="uq_ev_timer_order_kind_step"),
    )
    op.create_index("ix_ev_timer_order_id", "ev_timer", ["order_id"])
    op.create_index("ix_ev_timer_pending", "ev_timer", ["fired_at", "due_at"])


def downgrade() -> None:
    for t in ("ev_timer", "ev_photo", "ev_order_event", "ev_order", "ev_dispatch_rule", "ev_problem_type"):
        op.drop_table(t)
