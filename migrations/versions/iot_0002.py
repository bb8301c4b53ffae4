"""iot: profiles' quantities and rules, attribute values, alarm details and job cursors in the platform's one
JSON type (the per-device rule state stays TEXT: it is written in bulk with driver-level SQL)

Revision ID: iot_0002
Revises: iot_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "iot_0002"
down_revision = "iot_0001"
branch_labels = None
depends_on = None

COLUMNS = {"iot_profile": {"quantities": "[]", "rules": "[]"},
           "iot_attribute": {"value": "null"},
           "iot_alarm": {"detail": "{}"},
           "iot_job_state": {"value": "null"}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
