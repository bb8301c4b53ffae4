"""Every rule kind: duration thresholds with hysteresis, OR with repeat counts, rate of change, offline
detection, clear after silence; the alarm lifecycle and who may act on it."""

from __future__ import annotations

import time

import pytest

from citybase.core.errors import IllegalTransition, PermissionDenied
from citybase.core.identity.principal import SYSTEM, Principal
from citybase.db import make_session, session_scope
from citybase.iot import service
from tests.iot.helpers import make_device, make_profile

CODE = "3202130103000001"
MIN = 60_000


@pytest.fixture
def dev(city):
    service.limiter().reset()
    make_profile()
    make_device(CODE)
    return CODE


def feed(records: list[tuple[str, int, float]], code: str = CODE, now: int | None = None) -> None:
    with session_scope() as s:
        d = service.get_device(s, code)
        auth = service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code)
        service.ingest(s, auth, [(q, ts, v, None) for q, ts, v in records], now=now)


def alarms(status: str | None = "active") -> dict:
    with make_session() as s:
        return {a.type: a for a in service.list_alarms(s, status=status)}


def t0() -> int:
    now = int(time.time() * 1000)
    return now - now % MIN - 60 * MIN


def test_duration_threshold_fires_only_after_ten_minutes_and_clears_with_hysteresis(dev):
    base = t0()
    feed([("level", base + i * MIN, 2.5) for i in range(10)])  # 9 minutes above 2.0
    assert "high_level" not in alarms()
    feed([("level", base + 10 * MIN, 2.6)])  # now 10 minutes
    a = alarms()["high_level"]
    assert a.severity == "MAJOR" and a.status == "ACTIVE_UNACK" and a.repeat_count == 1
    # repeats extend the one active alarm of this type
    feed([("level", base + 11 * MIN, 2.7), ("level", base + 12 * MIN, 2.8)])
    assert alarms()["high_level"].repeat_count == 3
    assert len([x for x in alarms(None).values() if x.type == "high_level"]) == 1
    # 1.8 is below the trigger but above the clear threshold (1.5): still active
    feed([("level", base + 13 * MIN, 1.8)])
    assert "high_level" in alarms()
    feed([("level", base + 14 * MIN, 1.2)])
    cleared = alarms("CLEARED")["high_level"]
    assert cleared.clear_reason == "condition" and cleared.cleared_at is not None


def test_interrupted_duration_starts_again(dev):
    base = t0()
    feed([("level", base + i * MIN, 2.5) for i in range(8)] + [("level", base + 8 * MIN, 1.0)]
         + [("level", base + (9 + i) * MIN, 2.5) for i in range(8)])
    assert "high_level" not in alarms()


def test_or_condition_with_repeat_count(dev):
    base = t0()
    feed([("tilt", base, 45.0)])  # once is not enough (repeat 2)
    assert "opened" not in alarms()
    feed([("tilt", base + MIN, 2.0)])  # back to normal: the count restarts
    feed([("tilt", base + 2 * MIN, 45.0)])
    assert "opened" not in alarms()
    feed([("level", base + 3 * MIN, 6.0)])  # the other branch of the OR, second in a row
    a = alarms()["opened"]
    assert a.severity == "CRITICAL" and a.detail["values"]["level"] == 6.0


def test_rate_of_change(dev):
    base = t0()
    feed([("level", base, 0.5), ("level", base + MIN, 0.7)])  # 0.2 m/min
    assert "rising" not in alarms()
    feed([("level", base + 2 * MIN, 1.5)])  # 0.8 m/min
    assert alarms()["rising"].severity == "MINOR"


def test_rules_ignore_flagged_readings_and_replays(dev):
    base = t0()
    feed([("battery", base, 150.0)])  # out of range (0–100): stored, flagged, not a "low battery"
    feed([("battery", base + MIN, 10.0)])
    assert "low_battery" in alarms()
    with session_scope() as s:
        service.clear(s, SYSTEM, alarms()["low_battery"].id)
    feed([("battery", base + MIN, 10.0)])  # a replayed reading does not raise it again
    assert "low_battery" not in alarms()


def test_offline_detection_and_recovery(dev):
    feed([("level", t0(), 0.5)])
    with make_session() as s:
        seen = service.get_device(s, CODE).last_seen_ms
    with session_scope() as s:
        assert service.check_offline(s, now=seen + 150_000)["offline"] == 0  # < 3 × 60 s
    with session_scope() as s:
        out = service.check_offline(s, now=seen + 200_000)
    assert out == {"offline": 1, "alarms": 1}
    assert alarms()["offline"].severity == "MINOR"
    with make_session() as s:
        assert service.list_devices(s).items[0].state == "offline"  # counted offline, its alarm is listed
    with session_scope() as s:  # already offline: not raised twice
        assert service.check_offline(s, now=seen + 400_000)["alarms"] == 0
    feed([("level", t0() + MIN, 0.5)])  # data again: the offline alarm clears by itself
    assert "offline" not in alarms()
    assert alarms("CLEARED")["offline"].clear_reason == "condition"
    with make_session() as s:
        assert service.list_devices(s).items[0].state == "online"


def test_clear_after_silence(dev):
    base = t0()
    feed([("tilt", base, 45.0), ("tilt", base + MIN, 46.0)])
    a = alarms()["opened"]
    last = int(a.last_at.timestamp() * 1000)
    with session_scope() as s:
        assert service.clear_silent(s, now=last + 1_700_000) == 0
    with session_scope() as s:
        assert service.clear_silent(s, now=last + 1_801_000) == 1
    assert alarms("CLEARED")["opened"].clear_reason == "silence"


def test_lifecycle_ack_then_clear_and_permissions(dev):
    base = t0()
    feed([("battery", base, 10.0)])
    a = alarms()["low_battery"]
    operator = Principal(username="operator", role="operator", via="session", org_code="320200-cgj")
    staff = Principal(username="gaj_staff", role="staff", via="session", org_code="320200-gaj")
    other_officer = Principal(username="gaj_officer", role="data_officer", via="session", org_code="320200-gaj")
    with session_scope() as s, pytest.raises(PermissionDenied):
        service.acknowledge(s, staff, a.id)
    with session_scope() as s, pytest.raises(PermissionDenied):
        service.acknowledge(s, other_officer, a.id)
    with session_scope() as s:
        out = service.acknowledge(s, operator, a.id)
    assert out.status == "ACTIVE_ACK" and out.acked_by == "operator"
    with session_scope() as s, pytest.raises(IllegalTransition):
        service.acknowledge(s, operator, a.id)
    with session_scope() as s:
        out = service.clear(s, operator, a.id)
    assert out.status == "CLEARED" and out.clear_reason == "manual"
    with session_scope() as s, pytest.raises(IllegalTransition):
        service.clear(s, operator, a.id)
    # a new trigger after clearing opens a new alarm of the same type
    feed([("battery", base + MIN, 9.0)])
    assert alarms()["low_battery"].id != a.id


def test_alarm_api_and_board(client, dev):
    from tests.conftest import csrf_of, login

    feed([("battery", t0(), 10.0)])
    login(client, "operator")
    board = client.get("/iot/alarms", headers={"accept": "text/html"})
    assert board.status_code == 200 and "电量低" in board.text and "未确认" in board.text
    alarm_id = alarms()["low_battery"].id
    r = client.post(f"/api/iot/alarms/{alarm_id}/ack", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["status"] == "ACTIVE_ACK"
    r = client.post(f"/iot/alarms/{alarm_id}/clear", data={"csrf_token": csrf_of(client), "back": "/iot/alarms"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/iot/alarms?status=CLEARED").json()[0]["clear_reason"] == "manual"
