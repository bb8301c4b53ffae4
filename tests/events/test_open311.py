"""Open311 GeoReport v2 read with the `georeport` client from PyPI against a live server; POST with httpx."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from georeport import GeoReport

from tests.events.conftest import new_order, point_in


@pytest.fixture
def api_key(ev) -> str:
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:
        _, plain = identity.create_token(s, SYSTEM, "operator", name="open311")
    return plain


def test_georeport_client_reads_services_definitions_and_requests(live_server, ev, api_key):
    root = f"{live_server}/open311/v2"
    lon, lat = point_in()
    r = httpx.post(f"{root}/requests.json", data={
        "api_key": api_key, "service_code": "TGARB", "lat": str(lat), "long": str(lon),
        "description": "小区东门外垃圾堆积", "attribute[urgency]": "urgent", "phone": "13900001111"})
    assert r.status_code == 201, r.text
    number = r.json()[0]["service_request_id"]
    assert "签收" in r.json()[0]["service_notice"]

    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = client.get_service_list()
        codes = [s["service_code"] for s in services]
        assert {"TGARB", "TROAD", "TCOMP"} <= set(codes)
        definition = client.get_service_definition("TGARB")
        assert definition["service_code"] == "TGARB"
        req = client.get_service_request(number)
        assert req["service_request_id"] == number
        assert req["status"] == "open"
        assert req["agency_responsible"] == "锡山区城市管理局"
        assert req["expected_datetime"]
        assert "13900001111" not in str(req)
        listed = client.get_service_requests(service_code="TGARB", status="open")
        listed = listed if isinstance(listed, list) else [listed]
        assert number in [x["service_request_id"] for x in listed]
        closed = client.get_service_requests(status="closed") if fmt == "json" else []
        assert number not in [x["service_request_id"] for x in closed]


def test_requests_filters_and_pages(live_server, ev):
    numbers = [new_order(ev.grid_worker) for _ in range(3)]
    root = f"{live_server}/open311/v2"
    page1 = httpx.get(f"{root}/requests.json", params={"page_size": 2, "page": 1}).json()
    page2 = httpx.get(f"{root}/requests.json", params={"page_size": 2, "page": 2}).json()
    assert len(page1) == 2 and len(page2) == 1
    assert sorted(x["service_request_id"] for x in page1 + page2) == sorted(numbers)
    two = httpx.get(f"{root}/requests.json", params={"service_request_id": ",".join(numbers[:2])}).json()
    assert sorted(x["service_request_id"] for x in two) == sorted(numbers[:2])
    none = httpx.get(f"{root}/requests.json", params={"start_date": "2001-01-01T00:00:00Z",
                                                       "end_date": "2001-02-01T00:00:00Z"}).json()
    assert none == []


@pytest.mark.parametrize("form,status,needle", [
    ({"service_code": "TGARB", "lat": "31.6", "long": "120.45"}, 403, "api_key"),
    ({"api_key": "cb_wrong", "service_code": "TGARB", "lat": "31.6", "long": "120.45"}, 403, "api_key"),
    ({"service_code": "NOPE", "lat": "31.6", "long": "120.45"}, 404, "service_code"),
    ({"service_code": "TGARB"}, 400, "address_string"),
    ({"service_code": "TGARB", "lat": "39.91", "long": "116.39"}, 400, "本市"),
    ({"service_code": "TGARB", "lat": "x", "long": "120.45"}, 400, "numbers"),
    ({"service_code": "TGARB", "lat": "31.6", "long": "120.45", "attribute[urgency]": "panic"}, 400, "urgency"),
    ({"service_code": "TGARB", "lat": "nan", "long": "120.45"}, 400, "lat"),
    ({"service_code": "TGARB", "lat": "31.6", "long": "120.45", "description": "垃圾\u0000"}, 400, "description"),
])
def test_post_errors_are_open311_error_arrays(client, ev, api_key, form, status, needle):
    from citybase.db import make_session
    from citybase.events.models import WorkOrder

    data = {"api_key": api_key, **form} if "api_key" not in form and status != 403 else form
    for fmt in ("json", "xml"):
        r = client.post(f"/open311/v2/requests.{fmt}", data=data)
        assert r.status_code == status, r.text
        if fmt == "json":
            err = r.json()
            assert isinstance(err, list) and err[0]["code"] == status and needle in err[0]["description"]
        else:
            root = ET.fromstring(r.content)
            assert root.tag == "errors" and root.find("error/code").text == str(status)
    with make_session() as s:
        assert s.query(WorkOrder).count() == 0  # nothing half-written


def test_missing_required_attribute_for_a_component(client, ev, api_key):
    from citybase.db import session_scope
    from citybase.events import service

    with session_scope() as s:
        service.seed_problem_types(s, ev.admin, [{"code": "TMANH", "name": "污水井盖", "kind": "部件",
                                                  "sla": {"unit": "work_hours", "sign_in": 1, "handle": 8},
                                                  "default_unit_key": "slj"}])
    lon, lat = point_in()
    base = {"api_key": api_key, "service_code": "TMANH", "lat": str(lat), "long": str(lon)}
    r = client.post("/open311/v2/requests.json", data=base)
    assert r.status_code == 400 and "component_state" in r.json()[0]["description"]
    d = client.get("/open311/v2/services/TMANH.json").json()
    assert [a["code"] for a in d["attributes"]] == ["component_state", "urgency"]
    assert d["attributes"][0]["required"] is True
    r = client.post("/open311/v2/requests.json", data={**base, "attribute[component_state]": "missing"})
    assert r.status_code == 201


def test_unknown_request_and_format(client, ev):
    r = client.get("/open311/v2/requests/nope.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.get("/open311/v2/services.yaml")
    assert r.status_code == 404
    r = client.get("/open311/v2/services/NOPE.xml")
    assert r.status_code == 404 and b"<errors>" in r.content
    d = client.get("/open311/v2/discovery.json").json()
    assert d["endpoints"][0]["url"].endswith("/open311/v2")
