"""`citybase iot simulate`: demo devices stream realistic readings over ThingsBoard's HTTP API, with
occasional faults (out-of-range values, cover lifts, malformed JSON, future timestamps, strings)."""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select

from citybase.db import make_session
from citybase.iot.demo import demo_token
from citybase.iot.models import Device, Profile


def _normal(profile: str, q: str, t: float, rng: random.Random, state: dict[str, float]) -> float:
    hour = ((t / 3600.0) + 8) % 24
    day = math.sin((hour - 9) / 24 * 2 * math.pi)
    base = state.setdefault(q, rng.uniform(0.3, 0.7))
    table = {
        ("manhole", "level"): base + rng.gauss(0, 0.03), ("manhole", "tilt"): abs(rng.gauss(1, 0.4)),
        ("manhole", "battery"): 60 + base * 40,
        ("streetlight", "switch"): 1.0 if (hour >= 17.5 or hour < 6) else 0.0,
        ("streetlight", "voltage"): 220 + rng.gauss(0, 3),
        ("parking", "occupied"): 1.0 if rng.random() < 0.5 + 0.3 * day else 0.0, ("parking", "battery"): 80,
        ("hydrant", "pressure"): 0.25 + base * 0.2 + rng.gauss(0, 0.01), ("hydrant", "tilt"): abs(rng.gauss(0.8, 0.3)),
        ("buoy", "chla"): 15 + 7 * day + base * 10 + rng.gauss(0, 1.5), ("buoy", "pc"): 10 + 5 * day + rng.gauss(0, 1),
        ("buoy", "do"): 8 + 1.4 * day + rng.gauss(0, 0.15), ("buoy", "wt"): 15.5 + rng.gauss(0, 0.1),
        ("buoy", "ph"): 7.9 + 0.3 * day,
        ("air", "pm25"): 35 + 20 * base + 10 * day + rng.gauss(0, 4), ("air", "pm10"): 60 + 25 * base + rng.gauss(0, 6),
        ("air", "no2"): 30 + rng.gauss(0, 5),
    }
    if (profile, q) == ("streetlight", "current"):
        return max(0.0, (0.5 if (hour >= 17.5 or hour < 6) else 0.0) + rng.gauss(0, 0.01))
    if (profile, q) == ("streetlight", "power"):
        return max(0.0, (110 if (hour >= 17.5 or hour < 6) else 0.0) + rng.gauss(0, 3))
    return round(max(0.0, table.get((profile, q), base * 10)), 3)


def run_simulation(*, devices: int = 200, rate: float = 200.0, duration: float = 60.0,
                   url: str = "http://127.0.0.1:8000", faults: float = 0.02, seed: int = 7,
                   console: Any = None) -> dict[str, Any]:
    rng = random.Random(seed)
    with make_session() as s:
        rows = s.execute(select(Device.code, Profile.name, Profile.quantities).join(Profile, Profile.id == Device.profile_id)
                         .where(Device.status == "active").order_by(Device.id)).all()
    if not rows:
        raise SystemExit("没有可模拟的设备：请先运行 citybase demo")
    step = max(1, len(rows) // max(1, devices))
    chosen = rows[::step][:devices]
    sims = [{"code": c, "profile": p, "quantities": [q["key"] for q in qs], "token": demo_token(c),
             "state": {}} for c, p, qs in chosen]
    per_msg = sum(len(d["quantities"]) for d in sims) / len(sims)
    msg_rate = max(0.1, rate / per_msg)
    stats: Counter[str] = Counter()
    client = httpx.Client(base_url=url, timeout=10.0, limits=httpx.Limits(max_connections=16))

    def send(dev: dict[str, Any], body: bytes, kind: str) -> None:
        try:
            r = client.post(f"/api/v1/{dev['token']}/telemetry", content=body,
                            headers={"content-type": "application/json"})
        except httpx.HTTPError:
            stats["network_error"] += 1
            return
        stats[f"http_{r.status_code}"] += 1
        if r.status_code == 200:
            res = r.json()
            stats["accepted"] += res.get("accepted", 0)
            stats["flagged"] += res.get("flagged", 0)
            stats["rejected"] += res.get("rejected", 0)
        else:
            try:
                stats["error:" + r.json()["error"]["code"]] += 1
            except (ValueError, KeyError, TypeError):
                stats["error:unknown"] += 1
        stats["fault:" + kind if kind != "normal" else "normal"] += 1

    started = time.monotonic()
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while (elapsed := time.monotonic() - started) < duration:
            due = int(elapsed * msg_rate) - sent
            for _ in range(max(0, due)):
                dev = rng.choice(sims)
                now = time.time()
                values = {q: _normal(dev["profile"], q, now, rng, dev["state"]) for q in dev["quantities"]}
                kind = "normal"
                if rng.random() < faults:
                    kind = rng.choice(["out_of_range", "spike", "malformed", "future", "string"])
                    q0 = dev["quantities"][0]
                    if kind == "out_of_range":
                        values[q0] = 99999.0
                    elif kind == "spike" and dev["profile"] == "manhole":
                        values["tilt"] = 48.0  # a lifted cover: twice in a row raises a CRITICAL alarm
                    elif kind == "spike":
                        values[q0] = values[q0] * 3
                    elif kind == "string":
                        values[q0] = "ERR"
                body = json.dumps({"ts": int(now * 1000) + (3_600_000 if kind == "future" else 0),
                                   "values": values}).encode()
                if kind == "malformed":
                    body = body[: len(body) // 2]
                pool.submit(send, dev, body, kind)
                sent += 1
                stats["readings_sent"] += len(values)
            time.sleep(0.02)
    client.close()
    took = time.monotonic() - started
    report = {"devices": len(sims), "messages": sent, "seconds": round(took, 1),
              "readings_per_s": round(stats["readings_sent"] / took, 1), **dict(stats)}
    if console is not None:
        console.print(f"模拟完成：{len(sims)} 台设备，{sent} 条消息，{stats['accepted']} 条读数入库，"
                      f"{stats['flagged']} 条超限标记，拒收请求 {sum(v for k, v in stats.items() if k.startswith('error:'))} 个")
    return report
