"""Helpers for the base-library tests: person resources loaded into the lake."""

from __future__ import annotations

import pyarrow as pa

from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.core.identity.principal import SYSTEM
from citybase.lake import service as lake
from citybase.standards.idcard import id_check_char


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


A = _id("32020219800101001")  # 崇安区 code: historical, still valid
B = _id("32021319900202002")
C = _id("32028119750303003")
LEGACY15 = "320281750404004"  # 15-digit number; upgrades to 320281 19750404 004 + check


def _person(session, name, provider, code):
    fields = [FieldIn(name="sfzh", label="身份证号", element="cn_id_card", grading="L4", is_key=True, nullable=False,
                      position=0),
              FieldIn(name="xm", label="姓名", grading="L3", position=1),
              FieldIn(name="sj", label="手机", element="mobile", grading="L3", position=2),
              FieldIn(name="dw", label="单位", position=3)]
    res = catalog.create_resource(session, SYSTEM, ResourceIn(
        code=code, name=name, class_code="101009", provider_code=provider, share_condition="依职责申请",
        fields=fields))
    catalog.publish_direct(session, SYSTEM, res.code)
    return res.code


def _load(session, code, rows):
    cols = list(zip(*rows, strict=True))
    table = pa.table({"sfzh": cols[0], "xm": cols[1], "sj": cols[2], "dw": cols[3]})
    return lake.ingest_table(session, SYSTEM, code, table, source_label="test")
