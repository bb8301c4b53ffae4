"""Address → grid at intake: a hotline caller gives an address, not coordinates. The standard
address (自然资源和空间地理基础库) named in the text supplies the point, the point the grid."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybase.baselib import service as baselib
from citybase.baselib.schemas import SourceIn
from citybase.catalog import service as catalog
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.events import service
from citybase.events.schemas import IntakeIn
from citybase.lake import service as lake
from tests.events.conftest import fetch
from tests.grid.conftest import block_features, collection

# inside the hand-made 2 × 2 block of 梁溪区 (tests/grid/conftest.py): west and east columns
WEST = (120.295, 31.565)
EAST = (120.305, 31.575)


@pytest.fixture
def addresses(ev):
    from citybase.grid import service as grid

    with session_scope() as s:
        grid.import_geojson(s, SYSTEM, collection(block_features()), source_label="test block")
        res = catalog.create_resource(s, SYSTEM, ResourceIn(
            code="103009-0001", name="标准地址测试", class_code="103009", provider_code="320200-zrzyghj",
            share_condition="无", fields=[
                FieldIn(name="dzbm", label="地址编码", is_key=True, nullable=False, position=0),
                FieldIn(name="bzdz", label="标准地址", position=1),
                FieldIn(name="jd", label="经度", data_type="decimal", position=2),
                FieldIn(name="wd", label="纬度", data_type="decimal", position=3),
                FieldIn(name="jdbm", label="所属街道代码", position=4)]))
        catalog.publish_direct(s, SYSTEM, res.code)
        lake.ingest_table(s, SYSTEM, res.code, pa.table({
            "dzbm": ["A1", "A2", "A3"],
            "bzdz": ["无锡市梁溪区崇安寺街道中山路100号", "无锡市梁溪区崇安寺街道中山路10号",
                     "无锡市梁溪区崇安寺街道人民中路8号"],
            "jd": [WEST[0], EAST[0], EAST[0]], "wd": [WEST[1], EAST[1], EAST[1]],
            "jdbm": ["320213021", "320213021", "320213021"]}), source_label="test")
        baselib.ensure_library(s, SYSTEM, "geo")
        baselib.set_source(s, SYSTEM, "geo", SourceIn(resource_code=res.code, key_field="dzbm", priority=100,
                                                      attr_map={"bzdz": "bzdz", "jd": "jd", "wd": "wd",
                                                                "jdbm": "jdbm"}))
        baselib.build(s, SYSTEM, "geo")
    return ev


def test_the_longest_standard_address_in_the_text_wins(addresses):
    with make_session() as s:
        assert baselib.geocode(s, "中山路100号门口垃圾堆了三天")["address"].endswith("中山路100号")
        assert baselib.geocode(s, "梁溪区中山路10号 楼下")["lon"] == EAST[0]
        assert baselib.geocode(s, "锡山区中山路10号") is None  # that district has no such address
        assert baselib.geocode(s, "不知道在哪里") is None


def test_an_address_only_call_is_placed_in_its_grid(addresses):
    data = IntakeIn(channel="hotline", description="路灯不亮", address="中山路100号北门", type_code="TGARB")
    with session_scope() as s:
        number = service.intake(s, addresses.operator, data).number
    order = fetch(number)
    assert order.grid_code == "320213021001001" and order.street_code == "320213021"
    assert (order.lon, order.lat) == WEST and order.address == "中山路100号北门"
    # an address the library does not know still finds its street by name, without a grid
    other = IntakeIn(channel="hotline", description="夜间施工噪音扰民", address="崇安寺街道某小区", type_code="TGARB")
    with session_scope() as s:
        number = service.intake(s, addresses.operator, other).number
    assert fetch(number).street_code == "320213021" and fetch(number).grid_code is None


def test_the_intake_help_shows_the_place_and_duplicates_for_an_address(addresses, client):
    from tests.conftest import login

    with session_scope() as s:
        service.intake(s, addresses.operator, IntakeIn(channel="hotline", description="垃圾没人清理",
                                                       lon=WEST[0], lat=WEST[1], type_code="TGARB"))
    login(client, "operator")
    r = client.get("/api/events/suggest", params={"text": "垃圾没人清理", "address": "中山路100号"})
    assert r.status_code == 200
    body = r.json()
    assert body["place"]["grid_code"] == "320213021001001" and body["place"]["lon"] == WEST[0]
    page = client.get("/events/suggest", params={"description": "垃圾", "address": "中山路100号"})
    assert "按标准地址" in page.text and "320213021001001" in page.text


def test_a_number_the_library_lacks_falls_back_to_the_same_road_and_is_marked(addresses, client):
    with make_session() as s:
        near = baselib.geocode(s, "崇安寺街道中山路96号")
        assert near["address"].endswith("中山路100号") and near["precision"] == "road"
        assert baselib.geocode(s, "崇安寺街道解放路96号") is None  # no such road there
        place = service.locate(s, None, None, "崇安寺街道中山路96号")
        assert place.grid_code == "320213021001001" and place.approximate and "近似" in place.warning
        assert baselib.address_suggestions(s, "崇安寺街道中山") == ["无锡市梁溪区崇安寺街道中山路10号",
                                                                  "无锡市梁溪区崇安寺街道中山路100号"]
    from tests.conftest import login

    login(client, "operator")
    r = client.get("/events/addresses", params={"address": "梁溪区人民中"})
    assert '<option value="无锡市梁溪区崇安寺街道人民中路8号">' in r.text
