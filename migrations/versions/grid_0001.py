"""grid: communities, unit grids, grid-worker assignments, layer state

Revision ID: grid_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "grid_0001"
down_revision = None
branch_labels = ("grid",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "grid_community",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("street_code", sa.String(9), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_grid_community_street_code", "grid_community", ["street_code"])
    op.create_index("ix_grid_community_district_code", "grid_community", ["district_code"])
    op.create_table(
        "grid_cell",
        sa.Column("code", sa.String(15), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("community_code", sa.String(12), sa.ForeignKey(
            "grid_community.code", name="fk_grid_cell_community_code_grid_community"), nullable=False),
        sa.Column("street_code", sa.String(9), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_grid_cell_community_code", "grid_cell", ["community_code"])
    op.create_index("ix_grid_cell_street_code", "grid_cell", ["street_code"])
    op.create_index("ix_grid_cell_district_code", "grid_cell", ["district_code"])
    op.create_table(
        "grid_assignment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grid_code", sa.String(15), sa.ForeignKey(
            "grid_cell.code", ondelete="CASCADE", name="fk_grid_assignment_grid_code_grid_cell"),
            nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("assigned_by", sa.String(80), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("grid_code", "username", name="uq_grid_assignment_grid_user"),
    )
    op.create_index("ix_grid_assignment_grid_code", "grid_assignment", ["grid_code"])
    op.create_index("ix_grid_assignment_username", "grid_assignment", ["username"])
    op.create_table(
        "grid_state",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("grid_state")
    op.drop_table("grid_assignment")
    op.drop_table("grid_cell")
    op.drop_table("grid_community")
