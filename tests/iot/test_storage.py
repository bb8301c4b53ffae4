"""Storage: roll-ups and aggregation queries, area queries, retention with Parquet archive and
queries spanning the database and the archive, monthly partitions on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from citybase.db import make_session, session_scope
from citybase.iot import service
from citybase.iot.service.storage import DAY_MS, HOUR_MS, bulk_load, ensure_partitions, existing_partitions
from tests.conftest import login
from tests.iot.helpers import device_id, make_device, make_profile

MIN = 60_000


def _feed(code: str, records: list[tuple[str, int, float]]) -> None:
    with session_scope() as s:
        d = service.get_device(s, code)
        service.ingest(s, service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code),
                       [(q, t, v, None) for q, t, v in records])


def _hour0() -> int:
    now = int(time.time() * 1000)
    return now - now % HOUR_MS - 5 * HOUR_MS


def test_rollups_and_aggregated_range_queries(city):
    service.limiter().reset()
    make_profile()
    make_device("3202130103000001")
    h0 = _hour0()
    # two hours of minute data: level = minute index / 100
    _feed("3202130103000001", [("level", h0 + i * MIN, i / 100) for i in range(120)] + [("level", h0 + 30 * MIN + 1, 99.0)])
    dev = device_id("3202130103000001")
    with session_scope() as s:
        hourly = service.series(s, dev, "level", h0, h0 + 2 * HOUR_MS, "hour")
    assert [p["ts"] for p in hourly] == [h0, h0 + HOUR_MS]
    first = hourly[0]
    # the out-of-range 99.0 is stored but excluded from aggregates
    assert first["count"] == 60 and first["min"] == 0.0 and first["max"] == 0.59 and first["last"] == 0.59
    assert abs(first["avg"] - sum(i / 100 for i in range(60)) / 60) < 1e-9
    with session_scope() as s:
        q15 = service.series(s, dev, "level", h0, h0 + HOUR_MS, "900")
        raw = service.series(s, dev, "level", h0, h0 + 5 * MIN, "raw")
        day = service.series(s, dev, "level", h0, h0 + 2 * HOUR_MS, "day")
    assert [p["count"] for p in q15] == [15, 15, 15, 15] and q15[1]["avg"] == sum(i / 100 for i in range(15, 30)) / 15
    assert [p["value"] for p in raw] == [0.0, 0.01, 0.02, 0.03, 0.04]
    assert sum(p["count"] for p in day) == 120
    # late data marks the hour dirty; the next query sees it
    _feed("3202130103000001", [("level", h0 + 59 * MIN + 30_000, 5.0)])
    with session_scope() as s:
        again = service.series(s, dev, "level", h0, h0 + HOUR_MS, "hour")
    assert again[0]["count"] == 61 and again[0]["max"] == 5.0


def test_api_series_latest_and_area_query(client):
    service.limiter().reset()
    make_profile()
    t1 = make_device("3202130103000001", lon=120.30, lat=31.57)  # 梁溪区
    t2 = make_device("3202130103000002", lon=120.31, lat=31.58)
    make_device("3202050103000001", lon=120.42, lat=31.65)  # 锡山区
    client.post(f"/api/v1/{t1}/telemetry", json={"level": 1.0})
    client.post(f"/api/v1/{t2}/telemetry", json={"level": 3.0})
    login(client, "gaj_staff")
    with make_session() as s:
        dist = service.get_device(s, "3202130103000001").district_code
    assert dist == "320213"
    area = client.get(f"/api/iot/area?quantity=level&district={dist}").json()
    assert area["summary"] == {"count": 2, "avg": 2.0, "min": 1.0, "max": 3.0}
    assert {d["code"] for d in area["devices"]} == {"3202130103000001", "3202130103000002"}
    r = client.get("/api/iot/devices/3202130103000001/series?quantity=level&interval=hour").json()
    assert r["points"][0]["count"] == 1 and r["points"][0]["avg"] == 1.0
    got = client.get("/api/iot/devices/3202130103000001").json()
    assert got["latest"]["level"]["value"] == 1.0
    ser = client.get(f"/api/iot/area/series?quantity=level&district={dist}&grain=hour").json()
    assert ser["points"][0]["avg"] == 2.0 and ser["points"][0]["devices"] == 2
    assert client.get("/api/iot/devices/3202130103000001/series?quantity=level&start=x").status_code == 422


def test_retention_archives_to_parquet_and_queries_span_both(city):
    make_profile({"raw_retention_days": 2})
    make_device("3202130103000001")
    dev = device_id("3202130103000001")
    now = int(time.time() * 1000)
    start = now - now % HOUR_MS - 4 * DAY_MS
    rows = [(dev, "level", start + i * 10 * MIN, float(i % 50) / 10, 0) for i in range(6 * 24 * 4)]
    with session_scope() as s:
        ensure_partitions(s, {r[2] for r in rows})
    with session_scope() as s:
        bulk_load(s, rows)
    out = service.maintenance(now=now, orders=False)
    archived = out["archived"]
    assert len(archived) == 1 and archived[0]["profile"] == "test-manhole"
    cutoff = now - 2 * DAY_MS
    expected_old = sum(1 for r in rows if r[2] < cutoff)
    assert archived[0]["rows"] == expected_old
    path = Path(archived[0]["path"])
    assert path.exists() and path.suffix == ".parquet" and "lake/iot" in str(path)
    with make_session() as s:
        left = s.execute(text("SELECT count(*) FROM iot_reading")).scalar_one()
        assert left == len(rows) - expected_old
        # a raw query across the cutoff reads the archive (DuckDB) and the database together
        raw = service.raw_readings(s, dev, "level", start, now)
        assert [r[0] for r in raw] == [r[2] for r in rows]
        # hourly aggregates stay in the database past raw retention
        hourly = service.series(s, dev, "level", start, now, "hour", refresh=False)
    assert len(hourly) == 4 * 24 and sum(p["count"] for p in hourly) == len(rows)
    # the archive stays queryable through the HTTP API too
    with session_scope() as s:
        pts = service.series(s, dev, "level", start, start + HOUR_MS, "raw")
    assert len(pts) == 6


def test_postgres_partitions_are_created_on_demand(city):
    make_profile()
    make_device("3202130103000001")
    with make_session() as s:
        if s.get_bind().dialect.name != "postgresql":
            assert existing_partitions(s) == []
            return
        before = set(existing_partitions(s))
    service.limiter().reset()
    now = int(time.time() * 1000)
    _feed("3202130103000001", [("level", now - 25 * DAY_MS, 1.0), ("level", now, 1.0)])
    with make_session() as s:
        after = set(existing_partitions(s))
        assert after > before or before
        assert all(n.startswith("iot_reading_p") for n in after)
        n = s.execute(text("SELECT count(*) FROM iot_reading")).scalar_one()
    assert n == 2
