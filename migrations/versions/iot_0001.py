"""iot: device profiles, devices, attributes, readings (partitioned on PostgreSQL), roll-ups, alarms

Revision ID: iot_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from citybase.db import UTCDateTime

revision = "iot_0001"
down_revision = None
branch_labels = ("iot",)
depends_on = "0001_core"

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "iot_profile",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("device_type", sa.String(60), nullable=False),
        sa.Column("component_class", sa.String(8), nullable=False),
        sa.Column("org_code", sa.String(40), sa.ForeignKey("organisation.code",
                  name="fk_iot_profile_org_code_organisation"), nullable=False),
        sa.Column("quantities", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("raw_retention_days", sa.Integer(), nullable=False),
        sa.Column("agg_retention_days", sa.Integer(), nullable=False),
        sa.Column("order_severity", sa.String(12), nullable=True),
        sa.Column("open_type", sa.String(12), nullable=False),
        sa.Column("resource_code", sa.String(60), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_iot_profile_name"),
    )
    op.create_index("ix_iot_profile_org_code", "iot_profile", ["org_code"])
    op.create_table(
        "iot_device",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("profile_id", sa.Integer(), sa.ForeignKey("iot_profile.id",
                  name="fk_iot_device_profile_id_iot_profile"), nullable=False),
        sa.Column("org_code", sa.String(40), sa.ForeignKey("organisation.code",
                  name="fk_iot_device_org_code_organisation"), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("district_code", sa.String(12), nullable=True),
        sa.Column("street_code", sa.String(12), nullable=True),
        sa.Column("grid_code", sa.String(40), nullable=True),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_prefix", sa.String(12), nullable=False),
        sa.Column("mqtt_username", sa.String(64), nullable=True),
        sa.Column("mqtt_password_hash", sa.String(200), nullable=True),
        sa.Column("last_seen_ms", BIG, nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("code", name="uq_iot_device_code"),
        sa.UniqueConstraint("token_hash", name="uq_iot_device_token_hash"),
        sa.UniqueConstraint("mqtt_username", name="uq_iot_device_mqtt_username"),
    )
    for col in ("profile_id", "org_code", "district_code", "street_code", "grid_code"):
        op.create_index(f"ix_iot_device_{col}", "iot_device", [col])
    op.create_table(
        "iot_attribute",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("iot_device.id", ondelete="CASCADE",
                  name="fk_iot_attribute_device_id_iot_device"), primary_key=True),
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE iot_reading (device_id integer NOT NULL, quantity varchar(40) NOT NULL, "
            "ts bigint NOT NULL, value double precision NOT NULL, flag smallint NOT NULL DEFAULT 0, "
            "CONSTRAINT pk_iot_reading PRIMARY KEY (device_id, quantity, ts)) PARTITION BY RANGE (ts)"
        )
    else:
        op.create_table(
            "iot_reading",
            sa.Column("device_id", sa.Integer(), primary_key=True),
            sa.Column("quantity", sa.String(40), primary_key=True),
            sa.Column("ts", BIG, primary_key=True),
            sa.Column("value", sa.Float(), nullable=False),
            sa.Column("flag", sa.SmallInteger(), nullable=False, server_default="0"),
        )
    op.create_table(
        "iot_latest",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("quantity", sa.String(40), primary_key=True),
        sa.Column("ts", BIG, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("flag", sa.SmallInteger(), nullable=False),
    )
    op.create_table(
        "iot_dirty",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("hour_ms", BIG, primary_key=True),
    )
    op.create_table(
        "iot_rollup",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("quantity", sa.String(40), primary_key=True),
        sa.Column("grain", sa.String(6), primary_key=True),
        sa.Column("bucket", BIG, primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.Column("vlast", sa.Float(), nullable=False),
        sa.Column("last_ts", BIG, nullable=False),
    )
    op.create_table(
        "iot_rule_state",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("rule_key", sa.String(60), primary_key=True),
        sa.Column("since_ms", BIG, nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_ts", BIG, nullable=False),
        sa.Column("prev", sa.Text(), nullable=False),
    )
    op.create_table(
        "iot_alarm",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("iot_device.id", ondelete="CASCADE",
                  name="fk_iot_alarm_device_id_iot_device"), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("severity", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(80), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("acked_by", sa.String(64), nullable=True),
        sa.Column("cleared_by", sa.String(64), nullable=True),
        sa.Column("clear_reason", sa.String(20), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("order_state", sa.String(12), nullable=False),
        sa.Column("order_number", sa.String(40), nullable=True),
        sa.UniqueConstraint("active_key", name="uq_iot_alarm_active_key"),
    )
    op.create_index("ix_iot_alarm_device_id", "iot_alarm", ["device_id"])
    op.create_index("ix_iot_alarm_status", "iot_alarm", ["status"])
    op.create_index("ix_iot_alarm_order_number", "iot_alarm", ["order_number"])
    op.create_table(
        "iot_archive",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("profile_id", sa.Integer(), sa.ForeignKey("iot_profile.id",
                  name="fk_iot_archive_profile_id_iot_profile"), nullable=False),
        sa.Column("from_ms", BIG, nullable=False),
        sa.Column("to_ms", BIG, nullable=False),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_iot_archive_profile_id", "iot_archive", ["profile_id"])
    op.create_table(
        "iot_job_state",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for name in ("iot_job_state", "iot_archive", "iot_alarm", "iot_rule_state", "iot_rollup", "iot_dirty",
                 "iot_latest", "iot_reading", "iot_attribute", "iot_device", "iot_profile"):
        op.execute(f"DROP TABLE IF EXISTS {name} CASCADE" if op.get_bind().dialect.name == "postgresql"
                   else f"DROP TABLE IF EXISTS {name}")
