"""The functions other modules code against: create, get, list, lifecycle, publish_direct, search."""

from __future__ import annotations

import pytest

from citybase.catalog import service
from citybase.core.errors import IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from tests.catalog.helpers import person_resource, principal_of


def test_create_get_list_and_publish_direct(city):
    with session_scope() as s:
        gaj = principal_of(s, "gaj_officer")
        out = service.create_resource(s, gaj, person_resource())
    assert out.status == "draft"
    assert out.code == "101001-0001"
    assert out.catalog_type == "基础"
    assert out.provider_name == "无锡市公安局"
    assert [f.name for f in out.fields] == ["gmsfhm", "xm", "xb", "csrq", "lxdh"]
    assert out.fields[0].is_key and out.fields[0].grading == "L4"
    with make_session() as s:
        got = service.get_resource(s, out.code)
        assert got.fields[2].enum_values == ["男", "女"]
        assert [r.code for r in service.list_resources(s, status="draft")] == [out.code]
        assert service.list_resources(s, provider_code="320200-scjgj") == []
        with pytest.raises(NotFound) as exc:
            service.get_resource(s, "999999-0001")
        assert exc.value.code == "unknown_resource"
    with session_scope() as s:
        admin = principal_of(s, "admin")
        pub = service.publish_direct(s, admin, out.code)
        assert pub.status == "published" and pub.publish_date is not None
        second = service.create_resource(s, SYSTEM, person_resource(name="人口变动"))
        assert second.code == "101001-0002"


def test_review_lifecycle_is_audited(city):
    from sqlalchemy import select

    from citybase.core.audit.models import AuditEntry

    with session_scope() as s:
        code = service.create_resource(s, principal_of(s, "gaj_officer"), person_resource()).code
    with session_scope() as s, pytest.raises(PermissionDenied):  # staff may edit but not submit
        service.submit(s, principal_of(s, "gaj_staff"), code)
    with session_scope() as s:
        assert service.submit(s, principal_of(s, "gaj_officer"), code).status == "submitted"
    with session_scope() as s:
        with pytest.raises(PermissionDenied) as exc:  # a data officer outside the bureau cannot review
            service.review(s, principal_of(s, "scjgj_officer"), code, True)
        assert exc.value.code == "not_bureau_reviewer"
    with session_scope() as s:
        out = service.review(s, principal_of(s, "dsj_officer"), code, False, "请补充共享依据")
        assert out.status == "returned" and out.review_comment == "请补充共享依据"
    with session_scope() as s:
        service.submit(s, principal_of(s, "gaj_officer"), code)
        assert service.review(s, principal_of(s, "dsj_officer"), code, True, "").status == "published"
    with session_scope() as s:
        with pytest.raises(IllegalTransition):
            service.submit(s, principal_of(s, "gaj_officer"), code)
        assert service.withdraw(s, principal_of(s, "gaj_officer"), code).status == "withdrawn"
        assert service.publish(s, principal_of(s, "dsj_officer"), code).status == "published"
    with make_session() as s:
        actions = list(s.execute(select(AuditEntry.action).where(AuditEntry.object_id == code)
                                 .order_by(AuditEntry.seq)).scalars())
        events = [e.action for e in service.history(s, code)]
    assert actions == ["catalog.create", "catalog.submit", "catalog.return", "catalog.submit",
                       "catalog.approve", "catalog.withdraw", "catalog.publish"]
    assert events == ["create", "submit", "return", "submit", "approve", "withdraw", "publish"]


def test_search_finds_chinese_and_pinyin_initials(city):
    with session_scope() as s:
        a = service.create_resource(s, SYSTEM, person_resource())
        service.publish_direct(s, SYSTEM, a.code)
    with make_session() as s:
        for q in ("户籍人口", "hjrk", "人口", "公民身份号码", "hujirenkou"):
            res = service.search(s, q, {}, 1, 20)
            assert [r.code for r in res.items] == [a.code], q
        assert service.search(s, "水质", {}, 1, 20).total == 0
        res = service.search(s, "", {"share_type": "有条件共享"}, 1, 20)
        assert res.total == 1
        assert res.facets["provider_code"] == [{"value": "320200-gaj", "label": "无锡市公安局", "count": 1}]


def test_demo_loads_published_resources_idempotently(city):
    from citybase.catalog import demo

    demo.load()
    demo.load()
    with make_session() as s:
        published = service.list_resources(s, status="published")
        assert len(published) == len(demo.DEMO_RESOURCES) >= 20
        person = service.get_resource(s, "101001-0001")
        assert person.provider_name == "无锡市公安局"
        grades = {f.name: f.grading for f in person.fields}
        assert grades["gmsfhm"] == "L4" and grades["xm"] == "L3" and grades["lxdh"] == "L3"
        assert {r.share_type for r in published} == {"无条件共享", "有条件共享", "不予共享"}
        assert {r.open_type for r in published} == {"无条件开放", "有条件开放", "不予开放"}
        assert service.search(s, "hjrk", {}, 1, 10).items[0].code == "101001-0001"
        assert service.search(s, "水质", {}, 1, 10).items[0].code == "202001-0001"
