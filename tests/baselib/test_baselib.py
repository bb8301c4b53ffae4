"""Base-library merge: priorities, validity, freshness, key normalisation, provenance, incremental rebuild."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybase.baselib import service as baselib
from citybase.baselib.schemas import SourceIn
from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.core.errors import BadInput, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from tests.baselib.helpers import A, B, _id, _load, _person


def test_merge_picks_priority_then_validity_and_records_the_winner(two_sources):
    gaj, rsj = two_sources
    with session_scope() as s:
        b = baselib.build(s, SYSTEM, "population")
    assert b.row_count == 3  # A, B and the 15-digit number merged with its 18-digit form
    assert b.rejected_keys == 1  # the number with a wrong check character
    # names: 公安 (priority 100) wins everywhere; phones: 公安 wins for A, 人社 for B (公安's is invalid)
    # and for the legacy person (公安 has none)
    assert b.winners["xm"] == {gaj: 3}
    assert b.winners["lxdh"] == {gaj: 1, rsj: 2}
    assert b.winners["gzdw"] == {rsj: 2}
    assert b.conflicts["xm"] == 1  # 张三 vs 张叁
    assert b.coverage["lxdh"]["share"] == 1.0 and b.coverage["gzdw"]["present"] == 2
    with make_session() as s:
        state_code = baselib.status(s, SYSTEM)[0].resource_code
        v = lake.current_version(s, state_code)
        assert v.row_count == 3
        cols, rows = lake.read_rows(v, limit=10)
    data = {r[cols.index("gmsfhm")]: r for r in rows}
    assert data[A][cols.index("xm")] == "张三" and data[A][cols.index("lxdh")] == "13800001111"
    assert data[B][cols.index("lxdh")] == "13911112222"
    assert _id("32028119750404004") in data  # 15 → 18 digits


def test_sample_is_masked_and_shows_sources(two_sources):
    gaj, _ = two_sources
    with session_scope() as s:
        baselib.build(s, SYSTEM, "population")
    with make_session() as s:
        staff = identity.principal_for(identity.get_user(s, "gaj_staff"), "session")
        with pytest.raises(PermissionDenied):  # business staff see the figures, not the records
            baselib.sample(s, staff, "population")
        officer = identity.principal_for(identity.get_user(s, "gaj_officer"), "session")  # a source department
        header, rows = baselib.sample(s, officer, "population")
    assert header[0]["label"] == "公民身份号码"
    shown = " ".join(str(c["value"]) for r in rows for c in r)
    assert A not in shown and "张三" not in shown and "13800001111" not in shown
    assert any(c["source"] == gaj for r in rows for c in r)


def test_new_source_version_marks_only_its_libraries_stale(two_sources):
    gaj, _ = two_sources
    with session_scope() as s:
        baselib.build(s, SYSTEM, "population")
        assert "population" not in baselib.stale_libraries(s)
        _load(s, gaj, [(A, "张三", "13800009999", None)])
        assert "population" in baselib.stale_libraries(s)
    with session_scope() as s:
        built = baselib.rebuild_stale(s)
    assert [b.library for b in built] == ["population"]
    with session_scope() as s:
        assert baselib.rebuild_stale(s) == []  # nothing changed since: nothing rebuilt
        assert baselib.last_build(s, "population").number == 2


def test_fresher_version_wins_at_equal_priority(two_sources):
    gaj, rsj = two_sources
    with session_scope() as s:
        baselib.set_source(s, SYSTEM, "population", SourceIn(resource_code=gaj, key_field="sfzh", priority=50,
                                                            attr_map={"xm": "xm", "lxdh": "sj"}))
        _load(s, rsj, [(A, "张叁", "13800002222", "无锡市某公司")])  # 人社 now fresher
        b = baselib.build(s, SYSTEM, "population")
    assert b.winners["xm"][rsj] == 1


def test_mapping_errors_and_permissions(two_sources):
    gaj, _ = two_sources
    with pytest.raises(BadInput) as e, session_scope() as s:
        baselib.set_source(s, SYSTEM, "population", SourceIn(resource_code=gaj, key_field="nope", attr_map={}))
    assert e.value.code == "unknown_field"
    with pytest.raises(BadInput) as e, session_scope() as s:
        baselib.set_source(s, SYSTEM, "population", SourceIn(resource_code=gaj, key_field="sfzh",
                                                            attr_map={"shoe_size": "xm"}))
    assert e.value.code == "unknown_attribute"
    with make_session() as s:
        officer = identity.principal_for(identity.get_user(s, "gaj_officer"), "session")
    with pytest.raises(PermissionDenied), session_scope() as s:
        baselib.build(s, officer, "population")


def test_pages_and_api(two_sources, client):
    from tests.conftest import csrf_of, login

    login(client, "dsj_officer")
    r = client.post("/api/baselib/population/build", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["row_count"] == 3
    page = client.get("/baselib", headers={"accept": "text/html"})
    assert "人口基础库" in page.text and "关键属性覆盖率" in page.text
    page = client.get("/baselib/population", headers={"accept": "text/html"})
    assert "101009-0001" in page.text and "张三" not in page.text
    r = client.get("/api/baselib/population/records")
    assert r.json()["masked"] is True and len(r.json()["records"]) == 3
    assert client.get("/api/baselib/nowhere/records").json()["error"]["code"] == "unknown_library"


def test_rebuild_skips_libraries_whose_sources_have_no_data(two_sources):
    with session_scope() as s:
        empty = _person(s, "尚未归集", "320200-mzj", "101009-0003")
        baselib.ensure_library(s, SYSTEM, "legal_person")
    with session_scope() as s:
        baselib.set_source(s, SYSTEM, "legal_person", SourceIn(resource_code=empty, key_field="sfzh",
                                                              attr_map={"mc": "xm"}))
    with session_scope() as s:
        built = baselib.rebuild_stale(s)
    assert [b.library for b in built] == ["population"]
    with make_session() as s:
        assert "legal_person" in baselib.stale_libraries(s)


def _addresses(session, code, provider, rows):
    fields = [FieldIn(name="dz", label="地址编码", is_key=True, nullable=False, position=0),
              FieldIn(name="mc", label="标准地址", position=1),
              FieldIn(name="jd", label="所在街道代码", element="division_code", position=2)]
    res = catalog.create_resource(session, SYSTEM, ResourceIn(
        code=code, name=f"地址测试{code[-1]}", class_code="101009", provider_code=provider,
        share_condition="依职责申请", fields=fields))
    catalog.publish_direct(session, SYSTEM, res.code)
    cols = list(zip(*rows, strict=True))
    lake.ingest_table(session, SYSTEM, res.code, pa.table({"dz": cols[0], "mc": cols[1], "jd": cols[2]}),
                      source_label="test")
    return res.code


def test_street_codes_are_kept_in_the_geo_library(city):
    # 9-digit 乡镇/街道 codes (and their 12-digit form) are division codes: the library keeps them,
    # and falls back to the next source only where the first one's code is not a listed street
    with session_scope() as s:
        zjj = _addresses(s, "101009-0011", "320200-zjj", [("A1", "东亭街道某路1号", "320205001"),
                                                          ("A2", "某路2号", "320205999"),  # no such street
                                                          ("A3", "某路3号", None)])
        gaj = _addresses(s, "101009-0012", "320200-gaj", [("A1", "某路1号", "320205002"),
                                                          ("A2", "某路2号", "320205001000"),
                                                          ("A3", "某路3号", " 320205 003 ")])
        baselib.ensure_library(s, SYSTEM, "geo")
        baselib.set_source(s, SYSTEM, "geo", SourceIn(resource_code=zjj, key_field="dz", priority=100,
                                                      attr_map={"bzdz": "mc", "jdbm": "jd"}))
        baselib.set_source(s, SYSTEM, "geo", SourceIn(resource_code=gaj, key_field="dz", priority=50,
                                                      attr_map={"bzdz": "mc", "jdbm": "jd"}))
    with session_scope() as s:
        b = baselib.build(s, SYSTEM, "geo")
    assert b.row_count == 3
    assert b.winners["jdbm"] == {zjj: 1, gaj: 2}
    assert b.coverage["jdbm"]["present"] == 3
    with make_session() as s:
        v = lake.current_version(s, [x for x in baselib.status(s, SYSTEM) if x.key == "geo"][0].resource_code)
        cols, rows = lake.read_rows(v, limit=10)
    got = {r[cols.index("dzbm")]: r[cols.index("jdbm")] for r in rows}
    assert got["A1"] == "320205001" and got["A2"] == "320205001000"
    assert got["A3"].replace(" ", "") == "320205003"
