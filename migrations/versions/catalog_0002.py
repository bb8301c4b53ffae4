"""catalog: the JSON lists of a resource and its 信息项 in the platform's one JSON type

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-12-08
"""
from citybase.db import text_columns_to_json

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None

COLUMNS = {"catalog_resource": {"related_codes": "[]", "keywords": "[]", "search_terms": "{}"},
           "catalog_field": {"enum_values": "[]"}}


def upgrade() -> None:
    text_columns_to_json(COLUMNS)


def downgrade() -> None:
    text_columns_to_json(COLUMNS, back=True)
