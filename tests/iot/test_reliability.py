"""kill -9 the MQTT bridge and the HTTP server during sustained ingest, restart them: no acknowledged
reading is lost and none is stored twice (devices resend what was not acknowledged)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import paho.mqtt.client as mqtt
from sqlalchemy import text

from citybase.config import get_settings
from citybase.db import make_session
from tests.iot.conftest import free_port, wait_port
from tests.iot.helpers import device_id, make_device, make_profile

N_MQTT = 600
N_HTTP_BATCHES = 60
BATCH = 20


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CITYBASE_HOME"] = str(get_settings().home_dir)
    if get_settings().database_url:
        env["CITYBASE_DATABASE_URL"] = get_settings().database_url
    env["CITYBASE_IOT_RATE_PER_S"] = "100000"
    env["CITYBASE_IOT_RATE_BURST"] = "100000"
    return env


def _spawn(module: str, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *args], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _start(bport: int, hport: int) -> tuple[subprocess.Popen, subprocess.Popen]:
    """The bridge (as `citybase iot bridge` runs it) and the web server, started side by side."""
    bridge = _spawn("citybase.iot.bridge", ["--host", "127.0.0.1", "--port", str(bport)])
    server = _spawn("citybase.cli", ["serve", "--host", "127.0.0.1", "--port", str(hport)])
    wait_port(bport, timeout=60)
    wait_port(hport, timeout=60)
    return bridge, server


def _kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stored(code: str) -> list[tuple[int, float]]:
    with make_session() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT ts, value FROM iot_reading WHERE device_id = :d AND quantity = 'level' ORDER BY ts"),
            {"d": device_id(code)})]


def test_kill_bridge_and_server_loses_no_acknowledged_reading(city):
    make_profile({"raw_retention_days": 30})
    mqtt_token = make_device("3202130103000001")
    http_token = make_device("3202130103000002")
    bport, hport = free_port(), free_port()
    bridge, server = _start(bport, hport)
    base = int(time.time() * 1000) - 20 * 60_000
    try:
        # ---- MQTT device: QoS 1, paho resends what was not acknowledged after reconnecting
        acked_mqtt: set[int] = set()
        mid_ts: dict[int, int] = {}
        lock = threading.Lock()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="reliable-device", protocol=mqtt.MQTTv311)
        c.username_pw_set(mqtt_token)
        c.reconnect_delay_set(min_delay=1, max_delay=2)
        c.max_inflight_messages_set(50)
        c.max_queued_messages_set(0)

        def on_publish(client, userdata, mid, rc=None, props=None):
            with lock:
                if mid in mid_ts:
                    acked_mqtt.add(mid_ts[mid])

        c.on_publish = on_publish
        c.connect("127.0.0.1", bport, keepalive=10)
        c.loop_start()

        # ---- HTTP device: batches; a failed request is retried (it may or may not have been stored)
        acked_http: set[int] = set()
        http_done = threading.Event()

        def http_sender() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{hport}", timeout=5) as hc:
                for b in range(N_HTTP_BATCHES):
                    stamps = [base + (b * BATCH + i) * 1000 for i in range(BATCH)]
                    body = [{"ts": t, "values": {"level": (t - base) / 1e6}} for t in stamps]
                    while True:
                        try:
                            r = hc.post(f"/api/v1/{http_token}/telemetry", json=body)
                            if r.status_code == 200:
                                acked_http.update(stamps)
                                break
                        except httpx.HTTPError:
                            pass
                        time.sleep(0.2)
                    time.sleep(0.02)
            http_done.set()

        sender = threading.Thread(target=http_sender, daemon=True)
        sender.start()
        for i in range(N_MQTT):
            ts = base + i * 1000
            info = c.publish("v1/devices/me/telemetry", json.dumps({"ts": ts, "values": {"level": i / 1000}}), qos=1)
            with lock:
                mid_ts[info.mid] = ts
            if i == N_MQTT // 3:
                deadline = time.time() + 30  # kill in the middle of ingest: some acknowledged, more in flight
                while time.time() < deadline and (len(acked_mqtt) < 50 or len(acked_http) < 3 * BATCH):
                    time.sleep(0.05)
                http_at_kill = len(acked_http)
                _kill9(bridge)
                _kill9(server)
                with make_session() as s:
                    mid_count = s.execute(text("SELECT count(*) FROM iot_reading")).scalar_one()
                bridge, server = _start(bport, hport)
            time.sleep(0.004)
        deadline = time.time() + 60
        while time.time() < deadline and (len(acked_mqtt) < N_MQTT or not http_done.is_set()):
            time.sleep(0.2)
        c.loop_stop()
        assert mid_count > 0 and 0 < http_at_kill < N_HTTP_BATCHES * BATCH, "the kill happened during ingest"
        assert len(acked_mqtt) == N_MQTT, "every message is eventually acknowledged"
        assert http_done.is_set()
        stored_mqtt = _stored("3202130103000001")
        stored_http = _stored("3202130103000002")
        # no acknowledged reading lost …
        assert acked_mqtt <= {t for t, _ in stored_mqtt}
        assert acked_http <= {t for t, _ in stored_http}
        # … none stored twice, and each with the value that was sent
        assert len(stored_mqtt) == N_MQTT and len({t for t, _ in stored_mqtt}) == N_MQTT
        assert all(abs(v - (t - base) / 1000 / 1000) < 1e-9 for t, v in stored_mqtt)
        assert len(stored_http) == N_HTTP_BATCHES * BATCH
    finally:
        for p in (bridge, server):
            if p.poll() is None:
                _kill9(p)
