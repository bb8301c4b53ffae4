"""Builders shared by lake and quality tests: resources in the catalogue and small input files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.core.identity.principal import SYSTEM


def principal_of(session, username: str):
    from citybase.core.identity import service as identity

    return identity.principal_for(identity.get_user(session, username), "session")


PERSON_FIELDS = [
    FieldIn(name="id_number", label="公民身份号码", element="cn_id_card", grading="L4", nullable=False, is_key=True,
            position=1),
    FieldIn(name="name", label="姓名", grading="L3", nullable=False, position=2),
    FieldIn(name="gender", label="性别", element="enum", enum_values=["男", "女"], grading="L2", position=3),
    FieldIn(name="birth_date", label="出生日期", data_type="date", element="date", grading="L3", position=4),
    FieldIn(name="mobile", label="联系电话", element="mobile", grading="L3", position=5),
]


def make_resource(session, *, name: str = "户籍人口信息", fields: list[FieldIn] | None = None,
                  provider_code: str = "320200-gaj", class_code: str = "101001", **over: Any) -> str:
    from citybase.catalog import service as catalog

    data: dict[str, Any] = dict(
        name=name, summary="测试资源", class_code=class_code, class_name="人口/人口基本信息",
        provider_code=provider_code, format="CSV", share_type="有条件共享", share_condition="政务服务",
        share_method="接口调用", open_type="不予开放", update_cycle="每日",
        fields=PERSON_FIELDS if fields is None else fields)
    data.update(over)
    out = catalog.create_resource(session, SYSTEM, ResourceIn(**data))
    return out.code


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


PERSONS_CSV = """公民身份号码,姓名,性别,出生日期,联系电话
11010519491231002X,张三,女,1949-12-31,13800138000
320281197001010012,李四,男,1970-01-01,13912345678
320102198001010015,王五,男,1980-01-01,
"""
