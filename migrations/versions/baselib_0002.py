"""baselib: source mappings and build summaries in the platform's one JSON type

Revision ID: baselib_0002
Revises: baselib_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "baselib_0002"
down_revision = "baselib_0001"
branch_labels = None
depends_on = None

COLUMNS = {"baselib_source": {"attr_map": "{}"},
           "baselib_build": {"sources": "[]", "winners": "{}", "coverage": "{}", "conflicts": "{}"}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
