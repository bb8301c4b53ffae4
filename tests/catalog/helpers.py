"""Shared builders for catalogue tests."""

from __future__ import annotations

from typing import Any

from citybase.catalog.schemas import FieldIn, ResourceIn


def principal_of(session, username: str):
    from citybase.core.identity import service as identity

    return identity.principal_for(identity.get_user(session, username), "session")


def person_resource(**over: Any) -> ResourceIn:
    data: dict[str, Any] = dict(
        name="户籍人口信息", summary="全市户籍人口的基本信息", class_code="101001", class_name="人口/人口基本信息",
        provider_code="320200-gaj", format="数据库表", share_type="有条件共享",
        share_condition="用于政务服务身份核验", share_method="接口调用", open_type="不予开放",
        update_cycle="每日", keywords=["户口", "常住人口"],
        fields=[
            FieldIn(name="gmsfhm", label="公民身份号码", element="cn_id_card", grading="L4", nullable=False,
                    is_key=True),
            FieldIn(name="xm", label="姓名", grading="L3", nullable=False),
            FieldIn(name="xb", label="性别", element="enum", enum_values=["男", "女"], grading="L2"),
            FieldIn(name="csrq", label="出生日期", data_type="date", element="date", grading="L3"),
            FieldIn(name="lxdh", label="联系电话", element="mobile", grading="L3"),
        ],
    )
    data.update(over)
    return ResourceIn(**data)
