"""Alarms become work orders in 一网统管 (type and place from the device) and closing the order clears
the alarm; while the events module is absent the alarm waits and nothing fails."""

from __future__ import annotations

import time

import pytest

from citybase.core.identity.principal import SYSTEM
from citybase.db import make_session, session_scope
from citybase.iot import service
from tests.iot.helpers import make_device, make_profile

CODE = "3202130103000001"
MIN = 60_000


def _raise_high_level() -> int:
    now = int(time.time() * 1000)
    base = now - now % MIN - 30 * MIN
    with session_scope() as s:
        d = service.get_device(s, CODE)
        service.ingest(s, service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code),
                       [("level", base + i * MIN, 2.6, None) for i in range(12)])
    with make_session() as s:
        (a,) = [a for a in service.list_alarms(s) if a.type == "high_level"]
    assert a.order_state == "pending"
    return a.id


@pytest.fixture
def events_ready(city):
    from citybase.events import service as events

    with session_scope() as s:
        events.seed_problem_types(s, SYSTEM)
    service.limiter().reset()
    make_profile()
    make_device(CODE, lon=120.30, lat=31.57, address="中山路 100 号")
    return events


def test_alarm_opens_work_order_and_closing_it_clears_the_alarm(events_ready):
    events = events_ready
    alarm_id = _raise_high_level()
    with make_session() as s:
        (low,) = [a for a in service.list_alarms(s) if a.type == "high_level"]
    with session_scope() as s:
        out = service.sync_orders(s)
    assert out["events"] is True and out["opened"] == 1
    with make_session() as s:
        a = [x for x in service.list_alarms(s) if x.id == alarm_id][0]
        order = events.get_order(s, SYSTEM, a.order_number)
    assert a.order_state == "open" and a.order_number
    assert order.channel == "sensor" and order.external_id == f"alarm:{alarm_id}"
    assert order.type_code == "BJ0103"
    assert order.lon == pytest.approx(120.30) and order.lat == pytest.approx(31.57)
    assert CODE in order.description and "水位=2.6" in order.description
    # syncing again neither opens a second order nor fails
    with session_scope() as s:
        assert service.sync_orders(s)["opened"] == 0
    # the order is worked and closed in 一网统管 …
    number = a.order_number
    with session_scope() as s:
        status = events.order_status(s, number)
        if status in ("dispatched",):
            events.sign(s, SYSTEM, number)
    with session_scope() as s:
        if events.order_status(s, number) == "signed":
            events.start(s, SYSTEM, number)
    with session_scope() as s:
        events.feedback(s, SYSTEM, number, "已疏通排水，井内水位恢复正常")
    with session_scope() as s:
        events.verify(s, SYSTEM, number, True, "现场核查通过")
    with session_scope() as s:
        events.callback(s, SYSTEM, number, "satisfied", "系统工单，无需回访")
    with make_session() as s:
        assert events.order_status(s, number) in ("closed", "archived")
    # … and the next sync reflects it on the alarm
    with session_scope() as s:
        assert service.sync_orders(s)["closed"] == 1
    with make_session() as s:
        a = [x for x in service.list_alarms(s, status=None) if x.id == alarm_id][0]
    assert a.status == "CLEARED" and a.clear_reason == "order" and a.order_state == "closed"
    assert low.severity == "MAJOR"


def test_alarms_below_the_order_severity_open_no_order(events_ready):
    now = int(time.time() * 1000)
    with session_scope() as s:
        d = service.get_device(s, CODE)
        service.ingest(s, service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code), [("battery", now - MIN, 5.0, None)])
    with make_session() as s:
        (a,) = service.list_alarms(s)
    assert a.type == "low_battery" and a.order_state == "none"
    with session_scope() as s:
        assert service.sync_orders(s)["opened"] == 0
