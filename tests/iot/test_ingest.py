"""Telemetry in over HTTP: ThingsBoard's device API and SenML, validation, flags, duplicates, limits."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from citybase.config import get_settings
from citybase.core.errors import BadInput
from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.iot import service
from tests.iot.helpers import device_id, make_device, make_profile


def _rows(code: str = "3202130103000001") -> list[tuple]:
    with make_session() as s:
        return s.execute(text("SELECT quantity, ts, value, flag FROM iot_reading WHERE device_id = :d ORDER BY ts, quantity"),
                         {"d": device_id(code)}).all()


@pytest.fixture
def token(city):
    service.limiter().reset()
    make_profile()
    return make_device()


# ---------------------------------------------------------------- SenML parsing (RFC 8428)

def test_senml_base_fields_and_relative_time():
    now = 1_790_000_000_000
    pack = [{"bn": "urn:dev:ow:10e2073a01080063:", "bt": 1.79e9 - 120, "bu": "m", "n": "level", "v": 1.5},
            {"n": "level", "t": 60, "v": 1.6},
            {"n": "tilt", "u": "deg", "v": 2, "t": 120},
            {"bn": "", "bt": 0, "n": "battery", "v": 88, "t": -30},  # bt + t < 2^28: relative to now
            {"n": "door", "vb": True}]
    recs = service.senml_records(pack, now=now)
    assert recs[0] == ("urn:dev:ow:10e2073a01080063:level", 1_789_999_880_000, 1.5, "m")
    assert recs[1][1] == 1_789_999_940_000 and recs[1][3] == "m"
    assert recs[2][3] == "deg" and recs[2][1] == 1_790_000_000_000
    assert recs[3][1] == now - 30_000
    assert recs[4] == ("door", now, True, "m")  # the base unit carries on until changed


def test_senml_base_value_is_added():
    recs = service.senml_records([{"bn": "d:", "bv": 10, "n": "level", "v": 0.5, "t": 0}], now=1_000_000_000_000)
    assert recs[0][2] == 10.5


@pytest.mark.parametrize("pack", [{"n": "x", "v": 1}, [], [1, 2], [{"v": 1}], [{"n": "x"}], [{"n": 5, "v": 1}],
                                  [{"bt": "yesterday", "n": "x", "v": 1}], [{"bver": 99, "n": "x", "v": 1}]])
def test_malformed_senml_is_rejected(pack):
    with pytest.raises(BadInput) as exc:
        service.senml_records(pack)
    assert exc.value.code == "invalid_senml"


# ---------------------------------------------------------------- ThingsBoard HTTP API

def test_thingsboard_formats_are_all_accepted(client, token):
    now = int(time.time() * 1000)
    assert client.post(f"/api/v1/{token}/telemetry", json={"level": 1.2, "tilt": 3}).json()["accepted"] == 2
    r = client.post(f"/api/v1/{token}/telemetry", json={"ts": now - 5000, "values": {"level": 1.3}})
    assert r.json()["accepted"] == 1
    r = client.post(f"/api/v1/{token}/telemetry", json=[{"ts": now - 4000, "values": {"level": 1.4}},
                                                        {"ts": now - 3000, "values": {"level": 1.5, "battery": 90}}])
    assert r.status_code == 200 and r.json()["accepted"] == 3
    assert len(_rows()) == 6
    with make_session() as s:
        latest = service.latest(s, device_id("3202130103000001"))
    assert latest["battery"]["value"] == 90


def test_out_of_range_is_kept_but_flagged_and_undeclared_flagged(client, token):
    r = client.post(f"/api/v1/{token}/telemetry", json={"level": 42.0, "tilt": 1, "humidity": 55})
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 3 and body["flagged"] == 2
    flags = {q: f for q, _ts, _v, f in _rows()}
    assert flags == {"level": 1, "tilt": 0, "humidity": 2}


def test_duplicates_are_idempotent(client, token):
    now = int(time.time() * 1000)
    payload = [{"ts": now - 2000, "values": {"level": 1.0}}, {"ts": now - 1000, "values": {"level": 1.1}}]
    assert client.post(f"/api/v1/{token}/telemetry", json=payload).json()["accepted"] == 2
    again = client.post(f"/api/v1/{token}/telemetry", json=payload).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2
    assert [v for _q, _t, v, _f in _rows()] == [1.0, 1.1]  # the first value stays


def test_senml_endpoint_with_bearer_device_token(client, token):
    now = time.time()
    pack = [{"bn": "urn:dev:mh:3202130103000001:", "bt": now - 600, "bu": "m"}]
    pack += [{"n": "level", "t": i * 60, "v": 1 + i / 100} for i in range(10)]
    pack += [{"n": "tilt", "u": "deg", "v": 4, "t": 0}]
    r = client.post("/api/iot/senml", content=json.dumps(pack), headers={
        "authorization": f"Bearer {token}", "content-type": "application/senml+json"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 11
    levels = [v for q, _t, v, _f in _rows() if q == "level"]
    assert levels == [1 + i / 100 for i in range(10)]


def test_senml_unit_mismatch_and_strings_are_rejected_per_record(client, token):
    pack = [{"bn": "dev:", "n": "level", "u": "cm", "v": 120}, {"n": "level", "v": 1.2, "u": "m"},
            {"n": "tilt", "vs": "high"}]
    r = client.post("/api/iot/senml", content=json.dumps(pack),
                    headers={"authorization": f"Bearer {token}", "content-type": "application/senml+json"})
    body = r.json()
    assert r.status_code == 200 and body["accepted"] == 1 and body["rejected"] == 2
    assert {e["code"] for e in body["errors"]} == {"unit_mismatch", "non_numeric"}


def test_bad_input_is_rejected_clearly(client, token):
    # unknown credentials
    r = client.post("/api/v1/nope-nope/telemetry", json={"level": 1})
    assert r.status_code == 401 and r.json()["error"]["code"] == "device_token_invalid"
    r = client.post("/api/iot/senml", content=b"[]", headers={"content-type": "application/senml+json"})
    assert r.status_code == 401
    # malformed JSON / SenML
    r = client.post(f"/api/v1/{token}/telemetry", content=b'{"level": 1.', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/api/iot/senml", content=b'[{"n": "level", "v": ', headers={
        "authorization": f"Bearer {token}", "content-type": "application/senml+json"})
    assert r.json()["error"]["code"] == "invalid_senml"
    r = client.post("/api/iot/senml", content=b"[]", headers={"authorization": f"Bearer {token}",
                                                              "content-type": "text/plain"})
    assert r.status_code == 415
    # future and far-past timestamps, non-numeric values
    now = int(time.time() * 1000)
    r = client.post(f"/api/v1/{token}/telemetry", json={"ts": now + 3_600_000, "values": {"level": 1}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "future_timestamp"
    r = client.post(f"/api/v1/{token}/telemetry", json={"ts": now - 90 * 86_400_000, "values": {"level": 1}})
    assert r.json()["error"]["code"] == "too_old"
    r = client.post(f"/api/v1/{token}/telemetry", json={"level": "high", "tilt": 2})
    assert r.status_code == 200 and r.json()["rejected"] == 1 and r.json()["accepted"] == 1
    r = client.post(f"/api/v1/{token}/telemetry", json={"level": "high"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "non_numeric"
    r = client.post(f"/api/v1/{token}/telemetry", json=[1, 2])
    assert r.json()["error"]["code"] == "invalid_telemetry"


def test_oversized_batch_is_refused(client, token, monkeypatch):
    monkeypatch.setattr(get_settings(), "iot_max_batch", 100)
    now = time.time()
    pack = [{"bn": "d:", "bt": now - 1000}] + [{"n": "level", "t": i, "v": 1} for i in range(150)]
    r = client.post("/api/iot/senml", content=json.dumps(pack),
                    headers={"authorization": f"Bearer {token}", "content-type": "application/senml+json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"
    assert _rows() == []


def test_revoked_device_is_refused(client, token):
    assert client.post(f"/api/v1/{token}/telemetry", json={"level": 1}).status_code == 200
    with session_scope() as s:
        service.set_status(s, SYSTEM, "3202130103000001", "revoked")
    r = client.post(f"/api/v1/{token}/telemetry", json={"level": 1})
    assert r.status_code == 401 and r.json()["error"]["code"] == "device_revoked"


def test_flood_from_one_device_is_limited_without_affecting_others(client, token, monkeypatch):
    monkeypatch.setattr(service.limiter(), "burst", 20.0)
    monkeypatch.setattr(service.limiter(), "rate", 0.2)
    other = make_device("3202130103000002")
    codes = [client.post(f"/api/v1/{token}/telemetry", json={"level": 1.0}).status_code for _ in range(40)]
    assert codes.count(429) >= 15 and codes[:20] == [200] * 20
    assert client.post(f"/api/v1/{token}/telemetry", json={"level": 1.0}).json()["error"]["code"] == "device_rate_limited"
    assert client.post(f"/api/v1/{other}/telemetry", json={"level": 1.0}).status_code == 200


def test_device_reports_and_reads_attributes(client, token):
    r = client.post(f"/api/v1/{token}/attributes", json={"firmware": "2.0.1", "model": "MH-3"})
    assert r.status_code == 200 and r.json()["accepted"] == 2
    with session_scope() as s:
        service.set_attributes(s, SYSTEM, "3202130103000001", "shared", {"report_interval": 300})
    got = client.get(f"/api/v1/{token}/attributes").json()
    assert got == {"client": {"firmware": "2.0.1", "model": "MH-3"}, "shared": {"report_interval": 300}}
    assert client.post(f"/api/v1/{token}/attributes", json=[1]).status_code == 422
