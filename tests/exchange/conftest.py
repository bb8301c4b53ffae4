"""Small shared resources for the exchange tests: one per 共享属性, every grading L1–L4."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pytest

COND = "101001-9001"  # 有条件共享, 市公安局
FREE = "102001-9001"  # 无条件共享, 市市场监管局
NONE = "101002-9001"  # 不予共享, 市公安局
DISTRICTS = ["320213", "320214", "320211"]  # 梁溪区 新吴区 滨湖区
N = 30


@dataclass
class Shared:
    cond: str = COND
    free: str = FREE
    none: str = NONE


def person_fields() -> list[dict]:
    return [
        {"name": "sfzh", "label": "公民身份号码", "element": "cn_id_card", "grading": "L4", "is_key": True,
         "nullable": False},
        {"name": "xm", "label": "姓名", "grading": "L3"},
        {"name": "lxdh", "label": "联系电话", "element": "mobile", "grading": "L3"},
        {"name": "xb", "label": "性别", "element": "enum", "enum_values": ["男", "女"], "grading": "L2"},
        {"name": "nl", "label": "年龄", "data_type": "integer", "grading": "L1"},
        {"name": "xzqh", "label": "行政区划代码", "element": "division_code", "grading": "L1"},
        {"name": "djrq", "label": "登记日期", "data_type": "date", "element": "date", "grading": "L1"},
    ]


def person_rows(n: int = N) -> pa.Table:
    return pa.table({
        "sfzh": [f"3202131990010{i:05d}" for i in range(n)],
        "xm": [f"张{'三丰四五'[i % 4]}{i}" for i in range(n)],
        "lxdh": [f"139{i:08d}" for i in range(n)],
        "xb": ["男" if i % 2 else "女" for i in range(n)],
        "nl": [20 + i for i in range(n)],
        "xzqh": [DISTRICTS[i % 3] for i in range(n)],
        "djrq": [date(2024, 1, 1 + i % 28) for i in range(n)],
    })


def make_resource(s, code: str, provider: str, share_type: str, **extra) -> None:
    from citybase.catalog import service as catalog
    from citybase.catalog.schemas import FieldIn, ResourceIn
    from citybase.core.identity.principal import SYSTEM

    data = ResourceIn(code=code, name=extra.pop("name", f"测试资源{code}"), class_code=code.split("-")[0],
                      provider_code=provider, share_type=share_type,
                      share_condition="仅限政务部门履行职责使用" if share_type == "有条件共享" else "",
                      share_basis="《中华人民共和国居民身份证法》第十九条" if share_type == "不予共享" else "",
                      fields=[FieldIn(**f) for f in person_fields()], **extra)
    catalog.create_resource(s, SYSTEM, data)
    catalog.publish_direct(s, SYSTEM, code)


def ingest(code: str, table: pa.Table | None = None) -> None:
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.lake import service as lake

    with session_scope() as s:
        lake.ingest_table(s, SYSTEM, code, table if table is not None else person_rows(), source_label="测试")


MATRIX_USERS = [("rsj_officer", "data_officer"), ("rsj_staff", "staff"), ("rsj_operator", "operator"),
                ("rsj_grid", "grid_worker")]
CONSUMER = "320200-rsj"  # 市人社局: a department with no grants in the template
DISTRICT_ORG = "320213-cgj"  # 梁溪区城市管理局


def _populate() -> None:
    import citybase.exchange  # noqa: F401 - registers the lake hook
    import citybase.quality  # noqa: F401 - as in the app: every version is evaluated
    from citybase.db import session_scope

    with session_scope() as s:
        make_resource(s, COND, "320200-gaj", "有条件共享", name="户籍人口（测试）")
        make_resource(s, FREE, "320200-scjgj", "无条件共享", name="市场主体（测试）")
        make_resource(s, NONE, "320200-gaj", "不予共享", name="涉密人口（测试）")
    for code in (COND, FREE, NONE):
        ingest(code)
    for username, role in MATRIX_USERS:
        add_user(username, CONSUMER, role)
    add_user("lx_cgj", DISTRICT_ORG, "data_officer")


@pytest.fixture(scope="session")
def exchange_templates(templates, pg, tmp_path_factory):
    """The city template plus the shared test resources and users, built once per session."""
    from citybase.config import get_settings
    from citybase.db import dispose_engines
    from tests import conftest as root

    work = tmp_path_factory.mktemp("exchange-build")
    home = root._clone("city", templates, pg, work)
    _populate()
    url = get_settings().db_url
    dispose_engines()
    if pg is not None:
        pg.admin(f"CREATE DATABASE tpl_exchange TEMPLATE {url.split('?')[0].rsplit('/', 1)[1]}")
    return {**templates, "exchange": home}


@pytest.fixture
def shared(exchange_templates, pg, tmp_path) -> Shared:
    from citybase.core.ratelimit import reset
    from tests import conftest as root

    root._clone("exchange", exchange_templates, pg, tmp_path)
    reset()
    return Shared()


@pytest.fixture
def shared_client(shared):
    from fastapi.testclient import TestClient

    from citybase.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def principal_of(username: str):
    from citybase.core.identity import service as identity
    from citybase.db import make_session

    with make_session() as s:
        return identity.principal_for(identity.get_user(s, username), "session")


def add_user(username: str, org: str, role: str = "data_officer") -> None:
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        identity.create_user(s, SYSTEM, username=username, org_code=org, role=role, password="citybase2026",
                             display_name=username)


@pytest.fixture
def shared_server(shared):
    """The real app under uvicorn on 127.0.0.1 over the shared test resources."""
    from tests.conftest import serve_app

    with serve_app() as url:
        yield url
