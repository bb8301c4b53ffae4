"""IoT ingest throughput: HTTP batch ingest and MQTT through the bridge, on PostgreSQL and SQLite,
against the storage's own limit (PostgreSQL COPY / SQLite one-transaction executemany) of the same
readings, measured in the same run.

Targets (issue 6): HTTP batch ingest ≥ 50,000 readings/s sustained into PostgreSQL on 2 cores;
MQTT through the bridge ≥ 10,000 messages/s (one reading each), QoS 1, none lost.

The server (uvicorn, 1 worker) and the bridge run as separate processes, as in production; the
clients send pre-built payloads. Profile: 3 quantities with 4 threshold rules evaluated per reading.

    .venv/bin/python benchmarks/bench_iot_ingest.py [--backends postgres,sqlite] [--http-readings 1500000]
        [--mqtt-messages 200000] [--mqtt-devices 1000]
Writes benchmarks/results/bench_iot_ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

PROFILE = {
    "name": "bench-manhole", "label": "压测井盖", "device_type": "manhole", "component_class": "",
    "org_code": "320200-cgj", "interval_s": 60, "raw_retention_days": 30,
    "quantities": [{"key": "level", "label": "水位", "unit": "m", "min": 0, "max": 10},
                   {"key": "tilt", "label": "倾角", "unit": "deg", "min": 0, "max": 90},
                   {"key": "battery", "label": "电量", "unit": "%", "min": 0, "max": 100}],
    "rules": [{"key": "high_level", "name": "水位超限", "severity": "MAJOR", "duration_s": 600,
               "conditions": [{"quantity": "level", "op": ">", "value": 2.0}]},
              {"key": "opened", "name": "井盖异常", "severity": "CRITICAL", "logic": "OR", "repeat": 2,
               "conditions": [{"quantity": "tilt", "op": ">", "value": 30}, {"quantity": "level", "op": ">", "value": 5}]},
              {"key": "rising", "name": "快速上涨", "severity": "MINOR",
               "conditions": [{"quantity": "level", "op": ">", "value": 0.5, "rate": True}]},
              {"key": "low_battery", "name": "电量低", "severity": "WARNING",
               "conditions": [{"quantity": "battery", "op": "<", "value": 5}]}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


class Backend:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.home = Path(tempfile.mkdtemp(prefix=f"cb-bench-iot-{kind}-"))
        self.pg = None
        self.url: str | None = None
        if kind == "postgres":
            from tests.pgcluster import PgCluster

            self.pg = PgCluster().start()
            self.pg.admin("CREATE DATABASE bench")
            self.url = self.pg.url("bench")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CITYBASE_HOME"] = str(self.home)
        env["CITYBASE_ADMIN_PASSWORD"] = "citybase2026"
        if self.url:
            env["CITYBASE_DATABASE_URL"] = self.url
        else:
            env.pop("CITYBASE_DATABASE_URL", None)
        return env

    def activate(self) -> None:
        from citybase.config import reset_settings
        from citybase.db import dispose_engines

        dispose_engines()
        os.environ.update({k: v for k, v in self.env().items() if k.startswith("CITYBASE_")})
        if not self.url:
            os.environ.pop("CITYBASE_DATABASE_URL", None)
        reset_settings()

    def setup(self, n_devices: int) -> list[str]:
        self.activate()
        from citybase.cli import run_init
        from citybase.core.identity.principal import SYSTEM
        from citybase.db import session_scope
        from citybase.iot import service
        from citybase.iot.schemas import DeviceIn

        run_init(quiet=True)
        with session_scope() as s:
            service.save_profile(s, SYSTEM, PROFILE)
        tokens = [f"bench-token-{i:06d}-xxxxxxxx" for i in range(n_devices)]
        items = [DeviceIn(code=f"BENCH-{i:06d}", profile=PROFILE["name"], lon=120.3 + (i % 100) / 1000,
                          lat=31.55 + (i // 100) / 1000) for i in range(n_devices)]
        with session_scope() as s:
            service.devices.bulk_create(s, SYSTEM, items, tokens=tokens)
        return tokens

    def count(self, where: str = "") -> int:
        from sqlalchemy import text

        from citybase.db import make_session

        with make_session() as s:
            return s.execute(text(f"SELECT count(*) FROM iot_reading {where}")).scalar_one()

    def stop(self) -> None:
        from citybase.db import dispose_engines

        dispose_engines()
        if self.pg is not None:
            self.pg.stop()


# ---------------------------------------------------------------- HTTP

def run_http(be: Backend, tokens: list[str], total: int, per_request: int, threads: int) -> dict:
    import httpx

    port = free_port()
    env = be.env()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "citybase.app:create_app", "--factory", "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        records = per_request // 3
        n_requests = total // (records * 3)
        now = int(time.time() * 1000)
        # request j goes to device j % D; each device's batches walk back in time, 1 s apart
        bodies = []
        for j in range(n_requests):
            dev, k = j % len(tokens), j // len(tokens)
            start = now - 60_000 - (k + 1) * records * 1000
            recs = [{"ts": start + r * 1000, "values": {"level": round(0.6 + 0.2 * math.sin(r / 600), 4),
                                                        "tilt": 1.0 + (r % 7) / 10, "battery": 80.0}}
                    for r in range(records)]
            bodies.append((tokens[dev], json.dumps(recs).encode()))
        warm = httpx.post(f"http://127.0.0.1:{port}/api/v1/{tokens[0]}/telemetry", json={"battery": 80}, timeout=30)
        assert warm.status_code == 200, warm.text
        done: list[tuple[float, int]] = []
        errors: list[str] = []
        lock = threading.Lock()
        idx = iter(range(n_requests))

        def worker() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
                while True:
                    with lock:
                        j = next(idx, None)
                    if j is None:
                        return
                    tok, body = bodies[j]
                    r = c.post(f"/api/v1/{tok}/telemetry", content=body, headers={"content-type": "application/json"})
                    with lock:
                        if r.status_code == 200:
                            done.append((time.perf_counter(), r.json()["accepted"]))
                        else:
                            errors.append(r.text[:200])

        t0 = time.perf_counter()
        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        accepted = sum(a for _, a in done)
        windows = _window_rates(t0, done, 5.0)
        return {"requests": n_requests, "readings_per_request": records * 3, "accepted": accepted,
                "errors": len(errors), "first_error": errors[0] if errors else None, "seconds": round(elapsed, 2),
                "readings_per_s": round(accepted / elapsed), "median_5s_window_per_s": round(statistics.median(windows))
                if windows else None}
    finally:
        server.terminate()
        server.wait(15)


def _window_rates(t0: float, done: list[tuple[float, int]], width: float) -> list[float]:
    if not done:
        return []
    end = max(t for t, _ in done)
    out = []
    w = t0
    while w + width <= end:
        out.append(sum(a for t, a in done if w <= t < w + width) / width)
        w += width
    return out


# ---------------------------------------------------------------- MQTT

def _mqtt_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _varlen(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


async def _device(port: int, token: str, n: int, base_ts: int, window: int, stats: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    var = _mqtt_str("MQTT") + bytes([4, 0x82]) + struct.pack("!H", 60)
    payload = _mqtt_str(token[:20] + str(id(writer))) + _mqtt_str(token)
    writer.write(bytes([0x10]) + _varlen(len(var) + len(payload)) + var + payload)
    ack = await reader.readexactly(4)
    assert ack == b"\x20\x02\x00\x00", ack
    sem = asyncio.Semaphore(window)
    acked = 0
    done = asyncio.Event()

    async def read_acks() -> None:
        nonlocal acked
        while acked < n:
            hdr = await reader.readexactly(4)
            if hdr[0] >> 4 == 4:
                acked += 1
                stats["acked"] += 1
                sem.release()
        done.set()

    rt = asyncio.create_task(read_acks())
    topic = _mqtt_str("v1/devices/me/telemetry")
    for i in range(n):
        await sem.acquire()
        body = json.dumps({"ts": base_ts + i * 1000, "values": {"level": round(0.6 + 0.2 * math.sin(i / 600), 4)}}).encode()
        pid = i % 65535 + 1
        rest = topic + struct.pack("!H", pid) + body
        writer.write(b"\x32" + _varlen(len(rest)) + rest)
        if i % 16 == 15:
            await writer.drain()
    await writer.drain()
    await asyncio.wait_for(done.wait(), timeout=600)
    await rt
    writer.write(b"\xe0\x00")
    writer.close()


async def _mqtt_clients(port: int, tokens: list[str], per_device: int, window: int) -> tuple[float, int]:
    stats = {"acked": 0}
    base = int(time.time() * 1000) - 3 * 3_600_000
    t0 = time.perf_counter()
    await asyncio.gather(*(_device(port, tok, per_device, base, window, stats) for tok in tokens))
    return time.perf_counter() - t0, stats["acked"]


def run_mqtt(be: Backend, tokens: list[str], per_device: int, window: int) -> dict:
    port = free_port()
    bridge = subprocess.Popen([sys.executable, "-m", "citybase.iot.bridge", "--host", "127.0.0.1", "--port", str(port)],
                              env=be.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        before = be.count("WHERE device_id IN (SELECT id FROM iot_device WHERE code LIKE 'MQ-%')")
        elapsed, acked = asyncio.run(_mqtt_clients(port, tokens, per_device, window))
        sent = len(tokens) * per_device
        stored = be.count("WHERE device_id IN (SELECT id FROM iot_device WHERE code LIKE 'MQ-%')") - before
        return {"devices": len(tokens), "messages": sent, "acked": acked, "stored": stored, "lost": sent - stored,
                "seconds": round(elapsed, 2), "messages_per_s": round(acked / elapsed)}
    finally:
        bridge.terminate()
        bridge.wait(15)


# ---------------------------------------------------------------- the storage's own limit

def copy_baseline(be: Backend, n_rows: int) -> dict:
    """The same shape of readings written the fastest way the database offers, into a fresh table."""
    from citybase.db import get_engine

    now = int(time.time() * 1000)
    rows = [(10_000_000 + i % 100, ("level", "tilt", "battery")[i % 3], now - 86_400_000 + i // 3 * 1000,
             0.5 + (i % 50) / 100, 0) for i in range(n_rows)]
    engine = get_engine()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if be.kind == "postgres":
            cur.execute("CREATE TABLE bench_copy (LIKE iot_reading INCLUDING ALL)")
            raw.commit()
            text_rows = "".join(f"{d}\t{q}\t{t}\t{v}\t{f}\n" for d, q, t, v, f in rows).encode()
            t0 = time.perf_counter()
            with cur.copy("COPY bench_copy (device_id, quantity, ts, value, flag) FROM STDIN") as cp:
                for i in range(0, len(text_rows), 1 << 20):
                    cp.write(text_rows[i:i + (1 << 20)])
            raw.commit()
            method = "COPY FROM STDIN (text) into a table LIKE iot_reading (same primary key)"
        else:
            cur.execute("CREATE TABLE bench_copy AS SELECT * FROM iot_reading WHERE 0")
            cur.execute("CREATE UNIQUE INDEX bench_copy_pk ON bench_copy (device_id, quantity, ts)")
            raw.commit()
            t0 = time.perf_counter()
            cur.execute("BEGIN")
            cur.executemany("INSERT INTO bench_copy VALUES (?, ?, ?, ?, ?)", rows)
            raw.commit()
            method = "one-transaction executemany INSERT into a table with the same key"
        elapsed = time.perf_counter() - t0
        return {"rows": n_rows, "seconds": round(elapsed, 3), "rows_per_s": round(n_rows / elapsed), "method": method}
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="postgres,sqlite")
    ap.add_argument("--http-readings", type=int, default=1_500_000)
    ap.add_argument("--per-request", type=int, default=6000)
    ap.add_argument("--http-devices", type=int, default=100)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--mqtt-messages", type=int, default=200_000)
    ap.add_argument("--mqtt-devices", type=int, default=1000)
    ap.add_argument("--window", type=int, default=20)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict = {"load_average_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()], "targets": {"http_readings_per_s_postgres": 50_000, "mqtt_messages_per_s": 10_000}}
    for kind in args.backends.split(","):
        be = Backend(kind)
        try:
            tokens = be.setup(args.http_devices)
            from citybase.core.identity.principal import SYSTEM
            from citybase.db import session_scope
            from citybase.iot import service
            from citybase.iot.schemas import DeviceIn

            mtokens = [f"mqtt-token-{i:06d}-yyyyyyy" for i in range(args.mqtt_devices)]
            with session_scope() as s:
                service.devices.bulk_create(s, SYSTEM, [DeviceIn(code=f"MQ-{i:06d}", profile=PROFILE["name"], lon=120.3,
                                                                 lat=31.5) for i in range(args.mqtt_devices)],
                                            tokens=mtokens)
            print(f"[{kind}] HTTP batch ingest …", flush=True)
            http = run_http(be, tokens, args.http_readings, args.per_request, args.threads)
            print(f"[{kind}] HTTP: {http['readings_per_s']:,} readings/s (median 5 s window "
                  f"{http['median_5s_window_per_s']:,}/s), {http['errors']} errors", flush=True)
            print(f"[{kind}] MQTT through the bridge …", flush=True)
            mq = run_mqtt(be, mtokens, args.mqtt_messages // args.mqtt_devices, args.window)
            print(f"[{kind}] MQTT: {mq['messages_per_s']:,} msg/s QoS 1, lost {mq['lost']}", flush=True)
            base = copy_baseline(be, min(args.http_readings, 1_500_000))
            print(f"[{kind}] storage limit ({base['method']}): {base['rows_per_s']:,} rows/s", flush=True)
            results[kind] = {"http": http, "mqtt": mq, "storage_limit": base,
                             "ratio_http_to_storage_limit": round(http["readings_per_s"] / base["rows_per_s"], 3),
                             "ratio_mqtt_to_storage_limit": round(mq["messages_per_s"] / base["rows_per_s"], 3)}
            print(f"[{kind}] ratios to the storage limit: HTTP {results[kind]['ratio_http_to_storage_limit']}, "
                  f"MQTT {results[kind]['ratio_mqtt_to_storage_limit']}", flush=True)
        finally:
            be.stop()
    results["load_average_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    out = ROOT / "benchmarks" / "results" / "bench_iot_ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
