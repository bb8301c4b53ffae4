"""The MQTT path: devices built for ThingsBoard connect to the bridge unchanged (token as username,
topic v1/devices/me/telemetry), QoS 1 is acknowledged once stored, and the bridge republishes the
attributed readings on a real Mosquitto broker, reconnecting when the broker restarts."""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text

from citybase.db import make_session
from citybase.iot.bridge import BridgeThread
from tests.iot.conftest import free_port
from tests.iot.helpers import device_id, make_device, make_profile

OK, REFUSED = "Success", "Bad user name or password"


def _client(port: int, username: str, password: str | None = None, client_id: str = "") -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    c.username_pw_set(username, password)
    return c


def _connect(c: mqtt.Client, port: int) -> int:
    result = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, rc, props=None):
        result["rc"] = rc
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    assert done.wait(10), "no CONNACK"
    return str(result["rc"])  # paho's reason code text (MQTT 3.1.1 return codes mapped to names)


def _count(dev: int) -> int:
    with make_session() as s:
        return s.execute(text("SELECT count(*) FROM iot_reading WHERE device_id = :d"), {"d": dev}).scalar_one()


@pytest.fixture
def bridge(city, mosquitto):
    port = free_port()
    b = BridgeThread("127.0.0.1", port, broker=("127.0.0.1", mosquitto.port)).start()
    yield port, b
    b.stop()


def test_thingsboard_device_publishes_with_token_as_username(bridge, mosquitto):
    port, b = bridge
    make_profile()
    token = make_device()
    dev = device_id("3202130103000001")
    # a downstream consumer on Mosquitto
    got: list[tuple[str, dict]] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("citybase/telemetry/#", qos=1)
    sub.loop_start()
    assert b.bridge.fanout.connected.wait(10)
    time.sleep(0.3)

    c = _client(port, token)
    assert _connect(c, port) == OK
    now = int(time.time() * 1000)
    infos = [c.publish("v1/devices/me/telemetry", json.dumps({"ts": now - i * 1000, "values": {"level": 1.0 + i / 10}}),
                       qos=1) for i in range(20)]
    for info in infos:
        info.wait_for_publish(10)
    assert all(i.is_published() for i in infos)
    # acknowledged ⇒ already in the database
    assert _count(dev) == 20
    # the same messages again (a device resending after a lost PUBACK) are not stored twice
    again = [c.publish("v1/devices/me/telemetry", json.dumps({"ts": now - i * 1000, "values": {"level": 9}}), qos=1)
             for i in range(5)]
    for info in again:
        info.wait_for_publish(10)
    assert _count(dev) == 20
    # reported attributes over MQTT
    c.publish("v1/devices/me/attributes", json.dumps({"firmware": "1.2.3"}), qos=1).wait_for_publish(10)
    with make_session() as s:
        from citybase.iot import service

        assert service.attributes(s, dev)["reported"]["firmware"] == "1.2.3"
    deadline = time.time() + 10
    while len(got) < 20 and time.time() < deadline:
        time.sleep(0.05)
    assert got and got[0][0] == "citybase/telemetry/3202130103000001"
    assert "level" in got[0][1]["values"]
    c.loop_stop()
    c.disconnect()
    sub.loop_stop()


def test_unknown_and_revoked_credentials_are_refused(bridge):
    port, _ = bridge
    make_profile()
    token = make_device()
    c = _client(port, "not-a-token")
    assert _connect(c, port) == REFUSED
    c.loop_stop()
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.iot import service

    with session_scope() as s:
        service.set_status(s, SYSTEM, "3202130103000001", "revoked")
    c = _client(port, token)
    assert _connect(c, port) == REFUSED
    c.loop_stop()


def test_username_password_credentials(bridge):
    port, _ = bridge
    make_profile()
    make_device(mqtt_username="lamp-7", mqtt_password="s3cret-pass")
    dev = device_id("3202130103000001")
    bad = _client(port, "lamp-7", "wrong-pass")
    assert _connect(bad, port) == REFUSED
    bad.loop_stop()
    c = _client(port, "lamp-7", "s3cret-pass")
    assert _connect(c, port) == OK
    c.publish("v1/devices/me/telemetry", json.dumps({"level": 1.5}), qos=1).wait_for_publish(10)
    assert _count(dev) == 1
    c.loop_stop()


def test_bridge_reconnects_after_broker_restart(bridge, mosquitto):
    port, b = bridge
    make_profile()
    token = make_device()
    fan = b.bridge.fanout
    assert fan.connected.wait(10)
    mosquitto.stop()
    deadline = time.time() + 10
    while fan.connected.is_set() and time.time() < deadline:
        time.sleep(0.05)
    assert not fan.connected.is_set()
    mosquitto.start()
    assert fan.connected.wait(20), "the bridge did not reconnect to the restarted broker"
    got = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(m.topic)
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("citybase/telemetry/#", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    c = _client(port, token)
    assert _connect(c, port) == OK
    c.publish("v1/devices/me/telemetry", json.dumps({"level": 1.1}), qos=1).wait_for_publish(10)
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        time.sleep(0.05)
    assert got == ["citybase/telemetry/3202130103000001"]
    c.loop_stop()
    sub.loop_stop()
