"""core: drop the ledger's object-type index (the (object_type, object_id) index serves it)

Revision ID: 0002_core
Revises: 0001_core
Create Date: 2026-11-22
"""
from alembic import op

revision = "0002_core"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_entry_object_type", table_name="audit_entry")


def downgrade() -> None:
    op.create_index("ix_audit_entry_object_type", "audit_entry", ["object_type"])
