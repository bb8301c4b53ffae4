"""Intake channels, the dispatch catalogue, duplicate suggestions, the JSON API and the IoT contract."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from citybase.core.errors import BadInput, PermissionDenied
from citybase.events import service
from tests.events.conftest import HANDLER_UNIT, act, fetch, new_order, point_in


def shifted(meters_east: float) -> tuple[float, float]:
    import math

    lon, lat = point_in()
    return lon + meters_east / (111_000 * math.cos(math.radians(lat))), lat


def test_duplicates_same_type_within_50_m_and_24_h(ev):
    t0 = datetime(2025, 11, 17, 2, 0, tzinfo=UTC)
    first = new_order(ev.grid_worker, now=t0)
    near = new_order(ev.grid_worker, point=shifted(30), now=t0 + timedelta(hours=3))
    far = new_order(ev.grid_worker, point=shifted(120), now=t0 + timedelta(hours=3))
    other_type = new_order(ev.grid_worker, type_code="TROAD", point=shifted(10), now=t0 + timedelta(hours=3))
    later = new_order(ev.grid_worker, point=shifted(10), now=t0 + timedelta(hours=30))
    assert fetch(near).duplicates == [first]
    assert first not in fetch(far).duplicates
    assert fetch(other_type).duplicates == []
    assert first not in fetch(later).duplicates
    act(service.merge, ev.operator, near, first)
    assert fetch(near).status == "merged"


def test_catalogue_rule_by_type_and_area_with_assisting_units(ev):
    from citybase.db import session_scope

    with session_scope() as s:
        service.add_dispatch_rule(s, ev.admin, type_code="TGARB", area_code="320205", main_unit="{street}",
                                  assist_units=["{district}-cgj"])
        service.add_dispatch_rule(s, ev.admin, type_code=None, area_code=None, main_unit="320200-cgj")
        with pytest.raises(BadInput):
            service.add_dispatch_rule(s, ev.admin, type_code="TGARB", area_code=None, main_unit="999999-x")
        with pytest.raises(PermissionDenied):
            service.add_dispatch_rule(s, ev.operator, type_code=None, area_code=None, main_unit="320200-cgj")
    garbage = new_order(ev.grid_worker)
    act(service.dispatch, ev.operator, garbage)
    o = fetch(garbage)
    assert o.main_unit == "320205001" and o.assist_units == [HANDLER_UNIT]
    road = new_order(ev.grid_worker, type_code="TROAD")
    act(service.dispatch, ev.operator, road)
    assert fetch(road).main_unit == "320200-cgj"  # the catch-all rule
    # the assisting unit sees the order in its own inbox column, not among those it must sign
    from citybase.db import make_session

    with make_session() as s:
        box = service.inbox(s, ev.handler)
    assert [o.number for o in box["assisting"]] == [garbage]
    assert garbage not in [o.number for o in box["to_sign"] + box["handling"]]


def test_default_dispatch_by_locality_without_rules(ev):
    number = new_order(ev.grid_worker, point=point_in("320213"))
    act(service.dispatch, ev.operator, number)
    assert fetch(number).main_unit == "320213-cgj"


def test_sensor_intake_is_dispatched_at_once_and_idempotent_for_iot(ev):
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session, session_scope
    from citybase.events.schemas import IntakeIn

    lon, lat = point_in()
    data = IntakeIn(channel="sensor", description="积水监测点水位超警戒", type_code="TROAD", lon=lon, lat=lat,
                    external_id="alarm:42")
    with session_scope() as s:
        first = service.intake(s, SYSTEM, data)
    with session_scope() as s:
        again = service.intake(s, SYSTEM, data)
    assert first.number == again.number
    assert first.status == "dispatched" and first.main_unit == HANDLER_UNIT
    with pytest.raises(BadInput), session_scope() as s:
        service.intake(s, SYSTEM, IntakeIn(channel="sensor", description="x", type_code="TROAD", lon=lon, lat=lat))
    since = datetime.now(UTC) - timedelta(minutes=1)
    with make_session() as s:
        assert service.order_status(s, first.number) == "dispatched"
        assert service.orders_closed_since(s, since) == []
    act(service.sign, ev.handler, first.number)
    act(service.start, ev.handler, first.number)
    act(service.feedback, ev.handler, first.number, "已排水")
    act(service.verify, SYSTEM, first.number, True)
    act(service.callback, ev.operator, first.number, "satisfied")
    with make_session() as s:
        assert service.orders_closed_since(s, since) == [(first.number, "alarm:42", "closed")]


def test_open_orders_by_grid(ev):
    from citybase.db import make_session, session_scope
    from citybase.events.models import WorkOrder

    a, b, c = (new_order(ev.grid_worker) for _ in range(3))
    with session_scope() as s:  # the grid module fills grid codes; here we set them directly
        for number, grid in ((a, "320205001001001"), (b, "320205001001001"), (c, "320205001001002")):
            s.query(WorkOrder).filter_by(number=number).update({"grid_code": grid})
    act(service.reject, ev.operator, c, "重复上报")
    with make_session() as s:
        assert service.open_orders_by_grid(s) == {"320205001001001": 2}


def test_json_api_with_a_bearer_token(client, ev):
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from tests.events.test_flow import png_bytes

    with session_scope() as s:
        _, op_token = identity.create_token(s, SYSTEM, "operator")
        _, aud_token = identity.create_token(s, SYSTEM, "auditor")
    lon, lat = point_in()
    body = {"description": "路灯不亮", "type_code": "TROAD", "lon": lon, "lat": lat,
            "photos_base64": [base64.b64encode(png_bytes()).decode()], "reporter_phone": "13700002222"}
    r = client.post("/api/events/orders", json=body, headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "dispatched" and out["reporter_phone"] == "137****2222"
    r = client.post("/api/events/orders", json=body, headers={"Authorization": f"Bearer {aud_token}"})
    assert r.status_code == 403
    r = client.post("/api/events/orders", json={**body, "photos_base64": ["bm90IGFuIGltYWdl"]},
                    headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_an_image"
    r = client.post("/api/events/orders", json={**body, "lon": 116.39, "lat": 39.91},
                    headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "outside_city"
    auth = {"Authorization": f"Bearer {op_token}", "Content-Type": "application/json"}
    r = client.post("/api/events/orders", content='{"description": "路灯'.encode(), headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/api/events/orders", content='{"description": "路灯", "lon": NaN, "lat": 31.5}'.encode(),
                    headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input" and "lon" in r.json()["error"]["message"]
    r = client.post("/api/events/orders", json={"type_code": "TROAD"}, headers=auth)
    assert r.status_code == 422 and "description" in r.json()["error"]["message"]
    r = client.post("/api/events/orders", json=body)
    assert r.status_code == 401
    number = out["number"]
    r = client.post(f"/api/events/orders/{number}/start", json={}, headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 409 and "当前状态" in r.json()["error"]["message"]
    r = client.get(f"/api/events/orders/{number}", headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 200 and [e["action"] for e in r.json()["timeline"]] == ["intake", "triage", "dispatch"]
    photo = r.json()["photos"][0]
    r = client.get(f"/api/events/photos/{photo}", headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    r = client.post(f"/api/events/orders/{number}/reveal-phone", headers={"Authorization": f"Bearer {op_token}"})
    assert r.json() == {"reporter_phone": "13700002222"}
