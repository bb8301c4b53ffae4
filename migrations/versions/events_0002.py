"""events: drop two indexes that a wider index already serves

``ix_ev_order_status`` (status) is the leading column of ``ix_ev_order_status_due`` (status,
handle_due_at), and ``ix_ev_timer_order_id`` (order_id) of the unique (order_id, kind, step). Every
intake paid for maintaining them; no query needed them.

Revision ID: events_0002
Revises: events_0001
Create Date: 2026-11-22
"""
from alembic import op

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ev_order_status", table_name="ev_order")
    op.drop_index("ix_ev_timer_order_id", table_name="ev_timer")


def downgrade() -> None:
    op.create_index("ix_ev_timer_order_id", "ev_timer", ["order_id"])
    op.create_index("ix_ev_order_status", "ev_order", ["status"])
