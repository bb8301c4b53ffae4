"""Assignments (audited, role-checked), the JSON API and the map page; the open-orders hook."""

from __future__ import annotations

import json

import pytest

from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotFound, PermissionDenied
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.grid import service
from tests.conftest import csrf_of, login

W1 = "320213021001001"


def test_assignment_is_audited_and_checked(block):
    operator = Principal(username="operator", role="operator", via="session")
    worker = Principal(username="grid_worker", role="grid_worker", via="session")
    with session_scope() as s:
        out = service.assign_worker(s, operator, W1, "grid_worker")
        assert out.assigned_by == "operator"
    with make_session() as s:
        entries = audit.entries_for_object(s, "grid", W1)
        assert [(e.actor, e.action, json.loads(e.detail)) for e in entries] == [
            ("operator", "grid.assign", {"username": "grid_worker"})]
    for principal, who, exc_type, code in [
        (worker, "grid_worker", PermissionDenied, "permission_denied"),
        (operator, "grid_worker", Conflict, "already_assigned"),
        (operator, "gaj_staff", BadInput, "not_grid_worker"),
        (operator, "nobody_here", NotFound, "unknown_user"),
    ]:
        with pytest.raises(exc_type) as exc, session_scope() as s:
            service.assign_worker(s, principal, W1, who)
        assert exc.value.code == code
    with pytest.raises(NotFound) as exc, session_scope() as s:
        service.assign_worker(s, operator, "320213021009009", "grid_worker")
    assert exc.value.code == "unknown_grid"
    with session_scope() as s:
        service.unassign_worker(s, operator, W1, "grid_worker")
    with make_session() as s:
        assert service.grid_workers(s, W1) == []
        assert [e.action for e in audit.entries_for_object(s, "grid", W1)] == ["grid.assign", "grid.unassign"]
    with pytest.raises(NotFound), session_scope() as s:
        service.unassign_worker(s, operator, W1, "grid_worker")


def test_api_locate_list_detail_and_assign(block, client):
    assert client.get("/api/grid/locate?lon=120.295&lat=31.565").status_code == 401
    login(client, "operator")
    r = client.get("/api/grid/locate", params={"lon": "120.295", "lat": "31.565"})
    assert r.status_code == 200 and r.json()["grid_code"] == W1 and r.json()["street_name"] == "崇安寺街道"
    r = client.get("/api/grid/locate", params={"lon": "116.4", "lat": "39.9"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "outside_city"
    r = client.get("/api/grid/locate", params={"lon": "东经", "lat": "31"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_coordinates"
    r = client.get("/api/grid/grids", params={"street": "320213021", "size": 3})
    assert r.json()["total"] == 4 and len(r.json()["items"]) == 3
    assert client.get("/api/grid/grids/999").json()["error"]["code"] == "unknown_grid"
    fc = client.get("/api/grid/geojson")
    assert fc.headers["content-type"].startswith("application/geo+json") and len(fc.json()["features"]) == 4
    assert len(client.get("/api/grid/districts.geojson").json()["features"]) == 7

    token = csrf_of(client, "/grid")
    cands = client.get(f"/api/grid/grids/{W1}/candidates").json()
    assert cands == []  # no grid worker account in 崇安寺街道 yet (the demo one is in 东亭街道)
    r = client.post(f"/api/grid/grids/{W1}/workers", json={"username": "grid_worker"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_missing"
    r = client.post(f"/api/grid/grids/{W1}/workers", json={"username": "grid_worker"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    detail = client.get(f"/api/grid/grids/{W1}").json()
    assert detail["workers"] == ["grid_worker"] and detail["geometry"]["type"] == "Polygon"
    r = client.delete(f"/api/grid/grids/{W1}/workers/grid_worker", headers={"X-CSRF-Token": token})
    assert r.status_code == 204
    # operators may not replace the layer
    r = client.post("/api/grid/generate", headers={"X-CSRF-Token": token})
    assert r.status_code == 403


def test_grid_worker_reads_but_cannot_assign(block, client):
    login(client, "grid_worker")
    assert client.get("/api/grid/locate?lon=120.295&lat=31.565").status_code == 200
    token = csrf_of(client, "/grid")
    r = client.post(f"/api/grid/grids/{W1}/workers", json={"username": "grid_worker"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    page = client.get("/grid", headers={"accept": "text/html"})
    assert page.status_code == 200 and "网格地图" in page.text
    assert "const CAN_ASSIGN = false;" in page.text and "网格数据管理" not in page.text


def test_map_page_for_anonymous_redirects_and_admin_sees_management(block, client):
    r = client.get("/grid", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login(client, "admin")
    page = client.get("/grid", headers={"accept": "text/html"})
    assert "网格数据管理" in page.text and "导入网格" in page.text


def test_page_import_shows_each_error(block, client):
    from tests.grid.conftest import block_features, collection

    login(client, "admin")
    token = csrf_of(client, "/grid")
    feats = block_features()
    feats[3]["properties"]["code"] = "320213021002"
    r = client.post("/grid/import", data={"csrf_token": token, "mode": "replace"},
                    files={"file": ("grids.geojson", collection(feats), "application/geo+json")},
                    headers={"accept": "text/html"})
    assert r.status_code == 422 and "第 4 个要素" in r.text and "未写入任何数据" in r.text


def test_open_orders_come_from_the_overlay_another_module_offers(block, monkeypatch):
    from citybase import hooks

    monkeypatch.setattr(hooks, "_manager", None)  # a fresh set of plugins for this test alone
    pm = hooks.manager()
    pm.unregister(name="events")

    class Orders:
        @hooks.hookimpl
        def grid_map_overlays(self, session):
            return hooks.MapOverlay(key="open_orders", label="未办结工单数", counts={W1: 3})

    with make_session() as s:
        assert service.open_orders_by_grid(s) is None  # no module offers the overlay
        assert service.grid_detail(s, W1).open_orders is None
    pm.register(Orders(), name="test.orders")
    with make_session() as s:
        assert service.open_orders_by_grid(s) == {W1: 3}
        assert service.grid_detail(s, W1).open_orders == 3
        assert service.grid_detail(s, "320213021002002").open_orders == 0


def test_empty_layer_page_and_lookup_explain_what_to_do(client):
    login(client, "operator")
    page = client.get("/grid", headers={"accept": "text/html"})
    assert page.status_code == 200 and "尚未建立网格" in page.text
    r = client.get("/api/grid/locate", params={"lon": "120.3", "lat": "31.57"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_grids"
