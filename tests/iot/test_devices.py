"""Device registry: profiles, city-component codes, credentials, attributes, bulk import, the CLI,
permissions by owner department, and the catalogue/lake integration."""

from __future__ import annotations

import csv
import time

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from citybase.core.errors import BadInput, Conflict, PermissionDenied
from citybase.core.identity.principal import SYSTEM, Principal
from citybase.db import make_session, session_scope
from citybase.iot import service
from tests.conftest import csrf_of, login
from tests.iot.helpers import LEVEL_PROFILE, make_device, make_profile

CGJ_OFFICER = Principal(username="cgj_officer", role="data_officer", via="session", org_code="320200-cgj")
GAJ_OFFICER = Principal(username="gaj_officer", role="data_officer", via="session", org_code="320200-gaj")


def test_profile_validation(city):
    bad = {**LEVEL_PROFILE, "rules": [{"key": "x", "name": "x", "conditions": [{"quantity": "nope", "op": ">", "value": 1}]}]}
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.save_profile(s, SYSTEM, bad)
    assert exc.value.code == "bad_profile"
    with session_scope() as s, pytest.raises(PermissionDenied):
        service.save_profile(s, CGJ_OFFICER, LEVEL_PROFILE)


def test_component_codes_and_owner_department(city):
    make_profile()
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.create_device(s, SYSTEM, {"code": "3202130109000001", "profile": "test-manhole", "lon": 120.3, "lat": 31.5})
    assert exc.value.code == "bad_component_code"  # class 0109 (路灯) is not this profile's 0103
    with session_scope() as s, pytest.raises(PermissionDenied):
        service.create_device(s, GAJ_OFFICER, {"code": "3202130103000009", "profile": "test-manhole", "lon": 120.3,
                                               "lat": 31.57})
    with session_scope() as s:
        out, token = service.create_device(s, CGJ_OFFICER, {"code": "3202130103000009", "profile": "test-manhole",
                                                            "lon": 120.30, "lat": 31.57})
    assert out.org_code == "320200-cgj" and out.district_code == "320213" and out.state == "never"
    assert len(token) >= 20 and out.token_prefix == token[:6]
    with session_scope() as s, pytest.raises(Conflict):
        service.create_device(s, CGJ_OFFICER, {"code": "3202130103000009", "profile": "test-manhole", "lon": 120.3,
                                               "lat": 31.57})
    # the token is stored hashed only
    with make_session() as s:
        d = service.get_device(s, "3202130103000009")
        assert token not in (d.token_hash, d.token_prefix) and len(d.token_hash) == 64


def test_cli_device_add_prints_the_token(city):
    from citybase.cli import app

    make_profile()
    r = CliRunner().invoke(app, ["iot", "device", "add", "--profile", "test-manhole", "--code", "3202130103000077",
                                 "--lon", "120.3", "--lat", "31.57", "--org", "320200-cgj"])
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    with make_session() as s:
        assert service.authenticate_token(s, token).code == "3202130103000077"
    r = CliRunner().invoke(app, ["iot", "device", "add", "--profile", "nope", "--code", "X1234", "--lon", "1",
                                 "--lat", "1"])
    assert r.exit_code == 2 and "unknown_profile" in r.output


def test_bulk_import_csv_and_xlsx_all_or_nothing(city, tmp_path):
    make_profile()
    path = tmp_path / "devices.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:  # 部门导出的表格常是 GB18030
        w = csv.writer(fh)
        w.writerow(["设备编码", "名称", "设备类型", "经度", "纬度", "地址"])
        w.writerow(["3202130103000101", "中山路井盖1", "test-manhole", "120.30", "31.57", "中山路1号"])
        w.writerow(["3202130103000102", "中山路井盖2", "test-manhole", "120.31", "31.575", "中山路9号"])
    with session_scope() as s:
        pairs = service.import_devices(s, CGJ_OFFICER, path)
    assert [c for c, _ in pairs] == ["3202130103000101", "3202130103000102"]
    with make_session() as s:
        assert service.authenticate_token(s, pairs[1][1]).code == "3202130103000102"
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "lon", "lat"])
    ws.append(["3202130103000201", "甲", 120.3, 31.57])
    ws.append(["3202130103000101", "重复", 120.3, 31.57])  # already registered
    ws.append(["3202130103000203", "乙", "not-a-number", 31.57])
    x = tmp_path / "devices.xlsx"
    wb.save(x)
    with session_scope() as s, pytest.raises(BadInput) as exc:
        service.import_devices(s, CGJ_OFFICER, x, default_profile="test-manhole")
    assert exc.value.code == "import_rows_invalid"
    with make_session() as s:
        assert service.list_devices(s).total == 2  # nothing of the bad file was imported


def test_revoke_and_rotate_token(client):
    make_profile()
    token = make_device()
    service.limiter().reset()
    with session_scope() as s:
        new = service.rotate_token(s, SYSTEM, "3202130103000001")
    assert client.post(f"/api/v1/{token}/telemetry", json={"level": 1}).status_code == 401
    assert client.post(f"/api/v1/{new}/telemetry", json={"level": 1}).status_code == 200


def test_device_api_permissions(client):
    make_profile()
    login(client, "gaj_staff")
    assert client.get("/api/iot/devices").status_code == 200
    r = client.post("/api/iot/devices", json={"code": "3202130103000003", "profile": "test-manhole", "lon": 120.3,
                                              "lat": 31.57}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, "admin")
    r = client.post("/api/iot/devices", json={"code": "3202130103000003", "profile": "test-manhole", "lon": 120.3,
                                              "lat": 31.57}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 201 and r.json()["token"]
    assert client.get("/api/iot/devices?state=never").json()["total"] == 1
    r = client.put("/api/iot/devices/3202130103000003/attributes/shared", json={"report_interval": 120},
                   headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["shared"] == {"report_interval": 120}
    r = client.put("/api/iot/devices/3202130103000003/attributes/reported", json={"x": 1},
                   headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 422
    # anonymous callers see nothing
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert client.get("/api/iot/devices").status_code == 401


def test_profile_becomes_catalogue_resource_and_hourly_export(city):
    make_profile({"open_type": "无条件开放"})
    make_device()
    service.limiter().reset()
    now = int(time.time() * 1000)
    with session_scope() as s:
        d = service.get_device(s, "3202130103000001")
        service.ingest(s, service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code),
                       [("level", now - i * 600_000, 1.0 + i / 10, None) for i in range(12)])
    service.rollup_all(session_scope)
    with session_scope() as s:
        out = service.register_resource(s, SYSTEM, "test-manhole", publish=True)
    assert out["catalog"] and out["resource_code"]
    from citybase.catalog import service as catalog

    with make_session() as s:
        res = catalog.get_resource(s, out["resource_code"])
    assert res.provider_code == "320200-cgj" and res.status == "published" and res.open_type == "无条件开放"
    assert [f.name for f in res.fields][:4] == ["device_code", "device_name", "district_code", "quantity"]
    with session_scope() as s:  # registering again keeps the same resource
        assert service.register_resource(s, SYSTEM, "test-manhole")["resource_code"] == out["resource_code"]
    with session_scope() as s:
        exp = service.export_hourly(s, SYSTEM, "test-manhole")
    assert exp["lake"] and exp["rows"] >= 2
    from citybase.lake import service as lake

    with make_session() as s:
        v = lake.current_version(s, out["resource_code"])
    assert v is not None and v.row_count == exp["rows"]
