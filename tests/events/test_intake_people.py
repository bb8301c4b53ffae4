"""Intake that does what it says: 立即派单 with the accepted recommendation, a minimal description and
a place, the street-only warning, reassign / recall / 催办 before the unit signs, the public progress page."""

from __future__ import annotations

import re

import pytest

from citybase.core.errors import BadInput, IllegalTransition
from citybase.db import session_scope
from citybase.events import service
from citybase.events.schemas import IntakeIn
from tests.conftest import csrf_of, login
from tests.events.conftest import HANDLER_UNIT, act, fetch, new_order, point_in

GARBAGE = "东亭街道路口生活垃圾堆积，好几天没人清理，气味很大"


def _post_new(client, **values):
    login(client, "operator")
    token = csrf_of(client, "/events/new")
    return client.post("/events/new", data={"csrf_token": token, **values}, follow_redirects=True)


def test_dispatch_now_with_the_recommended_type(client, ev):
    from citybase.core.identity.principal import SYSTEM
    from tests.events.conftest import TYPES

    top = service.suggest_types(GARBAGE, 1)[0][0]  # what the classifier recommends, made a type of this city
    with session_scope() as s:
        service.seed_problem_types(s, SYSTEM, [{**TYPES[0], "code": top, "name": "暴露垃圾（推荐）"}])
    lon, lat = point_in()
    r = _post_new(client, description=GARBAGE, type_code="", lon=str(lon), lat=str(lat), dispatch_now="1")
    assert r.status_code == 200, re.findall(r'class="flash[^>]*>([^<]*)', r.text)
    assert "已按派单目录派单（采用系统推荐的问题类型）" in r.text
    number = re.search(r"工单号 (\d+)", r.text).group(1)
    order = fetch(number)
    assert order.status == "dispatched" and order.type_code == top and order.main_unit == HANDLER_UNIT


def test_a_call_described_as_x_or_without_a_place_is_refused(client, ev):
    r = _post_new(client, description="x", address="锡山区东亭街道")
    assert r.status_code == 422 and "至少写 4 个字" in r.text
    r = _post_new(client, description=GARBAGE)
    assert r.status_code == 422 and "地址不详" in r.text and GARBAGE in r.text  # what was typed is kept
    r = _post_new(client, description=GARBAGE, address="我也不知道")
    assert r.status_code == 422 and "无法定位到本市的区或街道" in r.text
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.intake(s, ev.operator, IntakeIn(channel="public", description="x", lon=120.35, lat=31.6))
    assert exc.value.code == "description_too_short"
    # “地址不详” is an explicit choice: registered, flagged, shown on the order
    r = _post_new(client, description=GARBAGE, address_unknown="1")
    assert r.status_code == 200 and "地址不详，工单已标记" in r.text and "badge warn\">地址不详" in r.text
    number = re.search(r"工单号 (\d+)", r.text).group(1)
    assert fetch(number).attributes.get("address_unknown") is True


def test_street_only_address_warns_and_is_shown_once(client, ev):
    r = _post_new(client, description=GARBAGE, address="锡山区东亭街道某小区门口", type_code="TGARB")
    assert r.status_code == 200
    assert 'class="flash warn"' in r.text and "只定位到街道，未定位到网格" in r.text
    number = re.search(r"工单号 (\d+)", r.text).group(1)
    assert fetch(number).street_code == "320205001" and fetch(number).grid_code is None
    place = re.search(r'<dd id="order-place">(.*?)</dd>', r.text, re.S).group(1)
    assert place.count("东亭街道") == 1 and place.count("锡山区") == 1
    # the intake help says the same while the operator types
    help_ = client.get("/events/suggest", params={"description": GARBAGE, "address": "锡山区东亭街道"})
    assert "只定位到街道" in help_.text


def test_reassign_recall_and_urge_before_the_unit_signs(client, ev):
    number = new_order(ev.grid_worker)
    act(service.dispatch, ev.operator, number)
    assert fetch(number).main_unit == HANDLER_UNIT
    act(service.urge, ev.operator, number, "请今天内签收")
    assert fetch(number).urge_count == 1
    act(service.reassign, ev.operator, number, "320213-cgj", [], "属梁溪区")
    o = fetch(number)
    assert (o.status, o.main_unit) == ("dispatched", "320213-cgj") and o.sign_due_at is not None
    act(service.recall, ev.operator, number, "派单有误")
    o = fetch(number)
    assert o.status == "triaged" and o.main_unit is None and o.sign_due_at is None
    # through the detail page's forms
    act(service.dispatch, ev.operator, number)
    login(client, "operator")
    page = client.get(f"/events/orders/{number}")
    assert 'id="form-reassign"' in page.text and 'id="form-recall"' in page.text and 'id="form-urge"' in page.text
    token = csrf_of(client, f"/events/orders/{number}")
    r = client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "reassign",
                                                          "main_unit": "320213-cgj"}, follow_redirects=True)
    assert "已改派" in r.text and fetch(number).main_unit == "320213-cgj"
    # once signed, the unit owns it: no recall, no reassign (催办 still works)
    act(service.sign, ev.other_handler, number)
    with pytest.raises(IllegalTransition):
        act(service.recall, ev.operator, number)
    with pytest.raises(IllegalTransition):
        act(service.reassign, ev.operator, number, HANDLER_UNIT)
    act(service.urge, ev.operator, number)
    events = [e.action for e in fetch(number).timeline]
    assert events.count("recall") == 3 and events.count("urge") == 2  # reassign = recall + dispatch


def test_public_progress_lookup(client, ev):
    lon, lat = point_in()
    with session_scope() as s:
        number = service.intake(s, ev.operator, IntakeIn(
            channel="public", description="小区门口井盖缺失，很危险", lon=lon, lat=lat, type_code="TGARB",
            reporter_phone="13912345678", reporter_name="张三")).number
    act(service.dispatch, ev.operator, number)
    assert client.get("/events/track").status_code == 200
    wrong = client.get("/events/track", params={"number": number, "phone4": "0000"})
    unknown = client.get("/events/track", params={"number": "209901010000001", "phone4": "5678"})
    assert wrong.status_code == unknown.status_code == 404
    assert "手机号后四位不符" in wrong.text and 'id="track-result"' not in wrong.text
    ok = client.get("/events/track", params={"number": number, "phone4": "5678"})
    assert ok.status_code == 200 and 'id="track-result"' in ok.text
    assert "已转交承办单位" in ok.text and "锡山区城市管理局" in ok.text
    for personal in ("13912345678", "张三", "小区门口井盖缺失", "operator", "赵敏"):
        assert personal not in ok.text
    assert "/events/track" in client.get("/events/public").text
