"""Pages: board, inbox, forms (hotline, grid worker, 随手拍), detail actions, statistics, map, admin."""

from __future__ import annotations

import re

from citybase.events import service
from tests.conftest import csrf_of, login
from tests.events.conftest import act, fetch, new_order, point_in
from tests.events.test_flow import png_bytes


def html(client, path):
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.text


def test_operator_pages_and_hotline_intake(client, ev):
    login(client, "operator")
    token = csrf_of(client, "/events/new")
    lon, lat = point_in()
    r = client.post("/events/new", data={"csrf_token": token, "description": "市民来电：东亭街道路口垃圾堆积",
                                         "type_code": "TGARB", "lon": str(lon), "lat": str(lat),
                                         "reporter_name": "李四", "reporter_phone": "13811112222",
                                         "dispatch_now": "1"}, follow_redirects=False)
    assert r.status_code == 303
    number = re.search(r"/events/orders/(\d+)", r.headers["location"]).group(1)
    assert fetch(number).status == "dispatched"
    page = html(client, f"/events/orders/{number}")
    assert "138****2222" in page and "13811112222" not in page and "李*" in page
    assert "锡山区城市管理局" in page and "派单" in page
    board = html(client, "/events")
    assert "城运中心工单看板" in board and "临期" in board
    for path in ("/events/orders", "/events/stats?by=street", "/events/stats?by=unit", "/events/stats?by=type",
                 "/events/map", "/events/new"):
        html(client, path)
    assert client.get("/events/geo/districts.json").json()["type"] == "FeatureCollection"
    # an intake error keeps what the operator typed
    r = client.post("/events/new", data={"csrf_token": token, "description": "京城来电", "lon": "116.39",
                                         "lat": "39.91"})
    assert r.status_code == 422 and "不在本市范围" in r.text and "京城来电" in r.text
    # values the intake refuses (a 201-character address, U+0000) are the same kind of clear error
    for bad in ({"address": "路" * 201}, {"description": "东亭来电\u0000"}, {"lon": "nan", "lat": "31.6"}):
        r = client.post("/events/new", data={"csrf_token": token, "description": "东亭来电", **bad})
        assert r.status_code == 422 and "输入内容不符合要求" in r.text, bad


def test_detail_actions_by_form_and_clear_errors(client, ev):
    number = new_order(ev.grid_worker)
    login(client, "operator")
    token = csrf_of(client, f"/events/orders/{number}")
    r = client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "triage_dispatch",
                                                          "type_code": "TGARB"}, follow_redirects=True)
    assert "已派单" in r.text and fetch(number).status == "dispatched"
    r = client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "callback",
                                                          "result": "satisfied"}, follow_redirects=True)
    assert "不能执行" in r.text and fetch(number).status == "dispatched"
    r = client.post(f"/events/orders/{number}/act", data={"action": "archive"})
    assert r.status_code == 403  # no CSRF token


def test_unit_inbox_sign_return_needs_reason(client, ev):
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        identity.set_password(s, SYSTEM, "cgj_staff", "citybase2026")
    number = new_order(ev.grid_worker)
    act(service.dispatch, ev.operator, number)
    login(client, "cgj_staff")
    inbox = html(client, "/events/inbox")
    assert number in inbox and "待签收" in inbox
    token = csrf_of(client, f"/events/orders/{number}")
    r = client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "return", "reason": ""},
                    follow_redirects=True)
    assert "请填写退单理由" in r.text and fetch(number).status == "dispatched"
    client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "sign"})
    r = client.post(f"/events/orders/{number}/act", data={"csrf_token": token, "action": "sign"},
                    follow_redirects=True)
    assert "不能重复签收" in r.text


def test_grid_worker_mobile_report_with_photo(client, ev):
    login(client, "grid_worker")
    page = html(client, "/events/report")
    assert "获取当前位置" in page and 'capture="environment"' in page
    token = csrf_of(client, "/events/report")
    lon, lat = point_in()
    r = client.post("/events/report", data={"csrf_token": token, "description": "人行道井盖破损",
                                            "type_code": "TROAD", "lon": str(lon), "lat": str(lat)},
                    files=[("photos", ("scene.png", png_bytes(), "image/png"))], follow_redirects=True)
    assert "上报成功" in r.text
    number = re.search(r"工单号 (\d+)", r.text).group(1)
    o = fetch(number)
    assert o.channel == "grid" and len(o.photos) == 1 and o.street_code == "320205001"
    r = client.post("/events/report", data={"csrf_token": token, "description": "人行道护栏倒了", "lon": str(lon),
                                            "lat": str(lat)},
                    files=[("photos", ("x.jpg", b"GIF89a-not-really", "image/jpeg"))], follow_redirects=True)
    assert "不是有效的图片" in r.text


def test_public_snapshot_is_anonymous_csrf_protected_and_rate_limited(client, ev):
    import time

    from citybase.core import ratelimit

    if time.time() % 60 > 45:  # fixed one-minute windows: start inside a fresh window
        time.sleep(61 - time.time() % 60)
    ratelimit.reset()
    page = html(client, "/events/public")
    assert "随手拍" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    lon, lat = point_in()
    form = {"description": "小区门口共享单车乱停", "lon": str(lon), "lat": str(lat), "phone": "13600003333"}
    r = client.post("/events/public", data=form)
    assert r.status_code == 403  # no CSRF token
    for i in range(5):
        r = client.post("/events/public", data={**form, "csrf_token": token}, follow_redirects=True)
        assert "感谢您的反映" in r.text, i
    r = client.post("/events/public", data={**form, "csrf_token": token}, headers={"accept": "text/html"})
    assert r.status_code == 429 and "过于频繁" in r.text
    ratelimit.reset()


def test_admin_edits_sla_and_catalogue(client, ev):
    login(client, "admin")
    page = html(client, "/events/admin")
    assert "TGARB" in page
    token = csrf_of(client, "/events/admin")
    r = client.post("/events/admin/types", data={"csrf_token": token, "code": "TGARB", "sla_unit": "work_hours",
                                                 "sign_in": "0.5", "handle": "3", "warn_ratio": "0.8"},
                    follow_redirects=True)
    assert "仅对新工单生效" in r.text
    r = client.post("/events/admin/rules", data={"csrf_token": token, "type_code": "TGARB", "area_code": "320205",
                                                 "main_unit": "{street}", "assist_units": ""}, follow_redirects=True)
    assert "已添加派单规则" in r.text
    number = new_order(ev.grid_worker)
    assert fetch(number).sla["handle"] == 3
    act(service.dispatch, ev.operator, number)
    assert fetch(number).main_unit == "320205001"


def test_roles_without_permission_are_refused(client, ev):
    login(client, "auditor")
    assert client.get("/events", headers={"accept": "application/json"}).status_code == 403
    client.cookies.clear()
    r = client.get("/events/new", headers={"accept": "application/json"})
    assert r.status_code == 401
