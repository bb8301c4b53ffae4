"""Resource codes under concurrency, and search: Chinese tokens, pinyin, facets, filters, index refresh."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from citybase.catalog import demo, service
from citybase.core.errors import BadInput, Conflict, IllegalTransition
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from tests.catalog.helpers import person_resource, principal_of


def test_codes_are_unique_under_concurrent_creation(city):
    codes: list[str] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(4):
                with session_scope() as s:
                    out = service.create_resource(s, SYSTEM, person_resource(name=f"并发资源{n}-{i}"))
                codes.append(out.code)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(codes) == [f"101001-{i:04d}" for i in range(1, 17)]


def test_explicit_codes_and_sequence_skip_taken_codes(city):
    with session_scope() as s:
        service.create_resource(s, SYSTEM, person_resource(code="101001-0002"))
        assert service.create_resource(s, SYSTEM, person_resource()).code == "101001-0001"
        assert service.create_resource(s, SYSTEM, person_resource()).code == "101001-0003"
        with pytest.raises(Conflict) as exc:
            service.create_resource(s, SYSTEM, person_resource(code="101001-0003"))
        assert exc.value.code == "duplicate_resource_code"
        with pytest.raises(BadInput) as exc2:
            service.create_resource(s, SYSTEM, person_resource(class_code="401001"))
        assert exc2.value.detail["problems"][0]["code"] == "bad_class_code"
        with pytest.raises(BadInput) as exc3:
            service.create_resource(s, SYSTEM, person_resource(catalog_type="主题"))
        assert exc3.value.detail["problems"][0]["code"] == "class_type_mismatch"


@pytest.fixture
def demo_city(city):
    demo.load()
    return city


def _codes(q: str, **filters) -> list[str]:
    with make_session() as s:
        return [r.code for r in service.search(s, q, filters, 1, 50).items]


def test_search_chinese_pinyin_and_ranking(demo_city):
    assert _codes("hjrk")[0] == "101001-0001"
    assert _codes("户籍人口")[0] == "101001-0001"
    assert _codes("户籍人口数据")[0] == "101001-0001"  # 数据 is a soft word
    assert _codes("scztdj") == ["102001-0001"]  # 市场主体登记
    assert _codes("水质")[0] == "202001-0001"
    assert "201001-0001" in _codes("井盖")  # a keyword
    assert set(_codes("社保")) == {"303001-0001"}
    assert "303001-0001" in _codes("参保")
    assert "317001-0001" in _codes("参保")
    assert _codes("统一社会信用代码 纳税")[0] == "104002-0001"
    assert "102001-0001" in _codes("市场监管局")
    assert _codes("202001-0001") == ["202001-0001"]
    assert _codes("不存在的东西xyz") == []


def test_facets_and_filters(demo_city):
    with make_session() as s:
        res = service.search(s, "", {}, 1, 5)
        assert res.total == len(demo.DEMO_RESOURCES) and len(res.items) == 5
        shares = {i["value"]: i["count"] for i in res.facets["share_type"]}
        assert shares == dict(Counter(meta["share_type"] for _c, _k, meta, _f in demo.DEMO_RESOURCES))
        providers = {i["label"]: i["count"] for i in res.facets["provider_code"]}
        assert providers["无锡市公安局"] == 2 and providers["无锡市民政局"] == 3
        types = {i["value"]: i["count"] for i in res.facets["catalog_type"]}
        assert types == dict(Counter({"1": "基础", "2": "主题", "3": "部门"}[c[0]] for c, *_ in demo.DEMO_RESOURCES))
        assert sum(types.values()) == len(demo.DEMO_RESOURCES)
        only = service.search(s, "", {"provider_code": "320200-mzj", "open_type": "不予开放"}, 1, 20)
        assert [r.code for r in only.items] == ["105002-0001", "306001-0001"]
        assert service.search(s, "", {"class_code": "104"}, 1, 20).total == 2
        assert service.search_codes(s, "参保", {"open_type": ["不予开放"]}) == \
            [r.code for r in service.search(s, "参保", {"open_type": ["不予开放"]}, 1, 50).items]
        with pytest.raises(BadInput):
            service.search(s, "", {"colour": "red"}, 1, 20)
        with pytest.raises(BadInput):
            service.search(s, "", {}, 0, 20)


def test_index_follows_changes(demo_city):
    assert _codes("居住证") == []
    with session_scope() as s:
        out = service.create_resource(s, SYSTEM, person_resource(name="居住证信息", keywords=[]))
    assert _codes("居住证") == []  # drafts are not in the published catalogue
    assert _codes("居住证", status="*") == [out.code]
    with session_scope() as s:
        service.publish_direct(s, SYSTEM, out.code)
    assert _codes("jzz") == [out.code]
    with session_scope() as s:
        gaj = principal_of(s, "gaj_officer")
        service.withdraw(s, gaj, out.code)
        data = person_resource(name="流动人口居住登记", keywords=[])
        service.update_resource(s, gaj, out.code, data)
    assert _codes("居住证", status="*") == []
    assert _codes("流动人口", status="draft") == [out.code]
    with session_scope() as s, pytest.raises(IllegalTransition):  # it was published once: keep it
        service.delete_draft(s, SYSTEM, out.code)
    with session_scope() as s:
        draft = service.create_resource(s, SYSTEM, person_resource(name="暂住登记草稿", keywords=[]))
    assert _codes("暂住登记", status="draft") == [draft.code]
    with session_scope() as s:
        service.delete_draft(s, SYSTEM, draft.code)
    assert _codes("暂住登记", status="*") == []
