"""Open-data fixtures: three published resources (无条件开放, 有条件开放, 不予开放) with data in the
lake, each with personal fields graded L2/L3/L4 holding planted sentinel values."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

SENT_L3 = "SENTINELL3X"  # planted in L3 fields: must never reach a public response
SENT_L4 = "110101199003070011"  # a valid-shaped ID number planted in L4 fields
SENT_L2 = "SENTINELL2Y"  # L2 fields are served masked: the clear value must not appear
OPEN = "202901-0001"
COND = "202902-0001"
CLOSED = "202903-0001"
N_ROWS = 60


def F(name: str, label: str, data_type: str = "string", grading: str = "L1", element: str = "text",
      key: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "data_type": data_type, "element": element, "grading": grading,
            "nullable": not key, "is_key": key, "enum_values": []}


def _resource(code: str, name: str, open_type: str, fields: list[dict[str, Any]], provider: str) -> Any:
    from citybase.catalog.schemas import FieldIn, ResourceIn

    return ResourceIn(code=code, name=name, summary=f"{name}（测试数据）", class_code=code[:6], class_name="生态环境/测试",
                      catalog_type="主题", provider_code=provider, format="数据库表",
                      share_type="无条件共享" if open_type != "不予开放" else "有条件共享",
                      share_condition="" if open_type != "不予开放" else "仅限政务使用", share_method="接口调用",
                      open_type=open_type, open_condition="需申请，说明用途" if open_type == "有条件开放" else "",
                      update_cycle="每月" if code == OPEN else "每日", keywords=["水质", "监测站"] if code == OPEN else ["企业"],
                      fields=[FieldIn(**f) for f in fields])


def _rows() -> pa.Table:
    return pa.table({
        "station": [f"ST{i % 6:02d}" for i in range(N_ROWS)],
        "name": [f"监测点{i % 6}" for i in range(N_ROWS)],
        "district": ["320213" if i % 2 else "320211" for i in range(N_ROWS)],
        "ph": [round(6.5 + (i % 10) / 10, 1) for i in range(N_ROWS)],
        "day": [f"2026-11-{1 + i % 20:02d}" for i in range(N_ROWS)],
        "count": [i for i in range(N_ROWS)],
        "keeper": [SENT_L2 + str(i) for i in range(N_ROWS)],
        "keeper_phone": [SENT_L3 for _ in range(N_ROWS)],
        "owner_id": [SENT_L4 for _ in range(N_ROWS)],
    })


OPEN_FIELDS = [F("station", "站点编码"), F("name", "站点名称"), F("district", "区划", element="division_code"),
               F("ph", "pH 值", "decimal"), F("day", "监测日期", "date", element="date"), F("count", "序号", "integer", key=True),
               F("keeper", "管护人", grading="L2"), F("keeper_phone", "管护人电话", grading="L3")]
COND_FIELDS = [*OPEN_FIELDS, F("owner_id", "负责人身份证号", grading="L4", element="cn_id_card")]


@pytest.fixture
def od_city(city):
    """The city plus the three published resources with data (one version each)."""
    from citybase.catalog import service as catalog
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.lake import service as lake

    table = _rows()
    specs = [(OPEN, "测试水质开放数据", "无条件开放", OPEN_FIELDS, "320200-sthjj"),
             (COND, "测试企业有条件数据", "有条件开放", COND_FIELDS, "320200-scjgj"),
             (CLOSED, "测试不开放数据", "不予开放", COND_FIELDS, "320200-gaj")]
    for code, name, open_type, fields, provider in specs:
        with session_scope() as s:
            catalog.create_resource(s, SYSTEM, _resource(code, name, open_type, fields, provider))
            catalog.publish_direct(s, SYSTEM, code)
        cols = [f["name"] for f in fields]
        with session_scope() as s:
            lake.ingest_table(s, SYSTEM, code, table.select(cols), source_label="测试")
    from citybase.core import ratelimit

    ratelimit.reset()
    return city


@pytest.fixture
def od_client(od_city):
    from fastapi.testclient import TestClient

    from citybase.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c
