"""lake: a version's columns, warnings and cast failures, and a job's options and error, in the platform's one JSON type

Revision ID: lake_0002
Revises: lake_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "lake_0002"
down_revision = "lake_0001"
branch_labels = None
depends_on = None

COLUMNS = {"lake_version": {"columns": "[]", "warnings": "[]", "cast_failures": "{}"},
           "lake_ingest_job": {"options": "{}", "error": None}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
