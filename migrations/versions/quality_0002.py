"""quality: rules' columns and parameters, reports, conflict sets in the platform's one JSON type

Revision ID: quality_0002
Revises: quality_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "quality_0002"
down_revision = "quality_0001"
branch_labels = None
depends_on = None

COLUMNS = {"quality_rule": {"columns": "[]", "params": "{}"},
           "quality_report": {"scores": "{}", "body": "{}"},
           "quality_conflict_set": {"members": "[]"}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
