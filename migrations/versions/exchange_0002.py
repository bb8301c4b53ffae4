"""exchange: the 信息项, clear fields and row filters of requests, grants and reads in the platform's one JSON type

Revision ID: exchange_0002
Revises: exchange_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "exchange_0002"
down_revision = "exchange_0001"
branch_labels = None
depends_on = None

COLUMNS = {"exchange_request": {"fields": "[]", "clear_fields": "[]", "row_filter": "[]"},
           "exchange_grant": {"fields": "[]", "clear_fields": "[]", "row_filter": "[]"},
           "exchange_access": {"fields": "[]", "clear_fields": "[]"}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
