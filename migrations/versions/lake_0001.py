"""lake: version index, current pointer, SQL sources, ingest jobs

Revision ID: lake_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "lake_0001"
down_revision = None
branch_labels = ("lake",)
depends_on = "0001_core"

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lake_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("row_count", BIG, nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("source", sa.String(400), nullable=False),
        sa.Column("source_label", sa.String(200), nullable=False),
        sa.Column("input_sm3", sa.String(64), nullable=False),
        sa.Column("input_bytes", BIG, nullable=False),
        sa.Column("encoding", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("rows_added", BIG, nullable=False),
        sa.Column("rows_removed", BIG, nullable=False),
        sa.Column("rows_changed", BIG, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.Column("cast_failures", sa.Text(), nullable=False),
        sa.Column("pruned", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("resource_code", "number", name="uq_lake_version_resource_number"),
    )
    op.create_index("ix_lake_version_resource_code", "lake_version", ["resource_code"])
    op.create_table(
        "lake_pointer",
        sa.Column("resource_code", sa.String(64), primary_key=True),
        sa.Column("current_number", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "lake_sql_source",
        sa.Column("resource_code", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "lake_ingest_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(400), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("upload_path", sa.String(500), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_lake_ingest_job_resource_code", "lake_ingest_job", ["resource_code"])


def downgrade() -> None:
    op.drop_table("lake_ingest_job")
    op.drop_table("lake_sql_source")
    op.drop_table("lake_pointer")
    op.drop_index("ix_lake_version_resource_code", "lake_version")
    op.drop_table("lake_version")

