"""Two person sources (公安 and 人社) that disagree, mapped into the population library."""

from __future__ import annotations

import pytest

from citybase.baselib import service as baselib
from citybase.baselib.schemas import SourceIn
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from tests.baselib.helpers import LEGACY15, A, B, _id, _load, _person


@pytest.fixture
def two_sources(city):
    with session_scope() as s:
        gaj = _person(s, "户籍测试", "320200-gaj", "101009-0001")
        rsj = _person(s, "参保测试", "320200-rsj", "101009-0002")
        _load(s, gaj, [(A, "张三", "13800001111", None),
                       (B.lower() if B.endswith("X") else B, "李四", "12345", None),  # invalid phone at 公安
                       (LEGACY15, "王五", None, None),
                       ("110105194912310021", "坏号码", "13900000000", None)])  # wrong check character
        _load(s, rsj, [(A, "张叁", "13800002222", "无锡市某公司"),
                       (B, "李四", "13911112222", "某研究所"),
                       (_id("32028119750404004"), "王五", "13722223333", None)])
        baselib.ensure_library(s, SYSTEM, "population")
        baselib.set_source(s, SYSTEM, "population", SourceIn(resource_code=gaj, key_field="sfzh", priority=100,
                                                            attr_map={"xm": "xm", "lxdh": "sj"}))
        baselib.set_source(s, SYSTEM, "population", SourceIn(resource_code=rsj, key_field="sfzh", priority=50,
                                                            attr_map={"xm": "xm", "lxdh": "sj", "gzdw": "dw"}))
    return gaj, rsj
