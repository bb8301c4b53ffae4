"""IoT demo: ~3,300 devices over Wuxi's real districts (manholes, street lights, parking spaces,
hydrants, water-quality buoys on 太湖, air stations), hours of history loaded in bulk, and a few
live faults pushed through the normal ingest path so alarms (and work orders) exist.

Demo device tokens are derived from a key in CITYBASE_HOME so `citybase iot simulate` can act as
the devices; real devices get random tokens."""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import secrets
from typing import Any

import numpy as np
from sqlalchemy import func, select

from citybase.config import get_settings
from citybase.core.identity.principal import SYSTEM
from citybase.core.keyfile import read_or_create
from citybase.db import session_scope
from citybase.iot import service
from citybase.iot.models import Device
from citybase.iot.schemas import DeviceIn
from citybase.iot.service.common import now_ms
from citybase.iot.service.storage import HOUR_MS, bulk_load, ensure_partitions

SEED = 20261121
DEMO_KEY_FILE = "iot_demo_key"

PROFILES: list[dict[str, Any]] = [
    {"name": "manhole", "label": "智能井盖", "device_type": "雨水井盖", "component_class": "0103",
     "org_code": "320200-cgj", "interval_s": 600, "raw_retention_days": 90, "order_severity": "MAJOR",
     "quantities": [{"key": "level", "label": "井内水位", "unit": "m", "min": 0, "max": 10},
                    {"key": "tilt", "label": "井盖倾角", "unit": "deg", "min": 0, "max": 90},
                    {"key": "battery", "label": "电池电量", "unit": "%", "min": 0, "max": 100}],
     "rules": [{"key": "high_level", "name": "井内水位超限", "severity": "MAJOR", "duration_s": 600,
                "conditions": [{"quantity": "level", "op": ">", "value": 2.0}],
                "clear_conditions": [{"quantity": "level", "op": "<", "value": 1.5}], "order_type": "BJ0103"},
               {"key": "cover_open", "name": "井盖位移/开启", "severity": "CRITICAL", "repeat": 2, "logic": "OR",
                "conditions": [{"quantity": "tilt", "op": ">", "value": 30}],
                "clear_after_silence_s": 3600, "order_type": "SJ0602"},
               {"key": "low_battery", "name": "电池电量低", "severity": "WARNING",
                "conditions": [{"quantity": "battery", "op": "<", "value": 15}]},
               {"key": "offline", "name": "设备离线", "kind": "offline", "severity": "MINOR", "offline_factor": 3}]},
    {"name": "streetlight", "label": "智慧路灯", "device_type": "路灯", "component_class": "0109",
     "org_code": "320200-cgj", "interval_s": 600, "raw_retention_days": 60, "order_severity": "MAJOR",
     "quantities": [{"key": "switch", "label": "开关状态", "unit": "", "min": 0, "max": 1,
                     "states": {"0": "关", "1": "开"}},
                    {"key": "voltage", "label": "电压", "unit": "V", "min": 0, "max": 300},
                    {"key": "current", "label": "电流", "unit": "A", "min": 0, "max": 20},
                    {"key": "power", "label": "功率", "unit": "W", "min": 0, "max": 1000}],
     "rules": [{"key": "lamp_fault", "name": "灯具不亮", "severity": "MAJOR", "duration_s": 1200,
                "conditions": [{"quantity": "switch", "op": "==", "value": 1},
                               {"quantity": "current", "op": "<", "value": 0.05}], "order_type": "BJ0109"},
               {"key": "over_voltage", "name": "电压异常", "severity": "MINOR", "logic": "OR", "repeat": 2,
                "conditions": [{"quantity": "voltage", "op": ">", "value": 250},
                               {"quantity": "voltage", "op": "<", "value": 180}]},
               {"key": "offline", "name": "设备离线", "kind": "offline", "severity": "WARNING", "offline_factor": 3}]},
    {"name": "parking", "label": "路侧停车位", "device_type": "地磁车检器", "component_class": "",
     "org_code": "320200-jtysj", "interval_s": 300, "raw_retention_days": 30, "open_type": "无条件开放",
     "quantities": [{"key": "occupied", "label": "占用", "unit": "", "min": 0, "max": 1},
                    {"key": "battery", "label": "电池电量", "unit": "%", "min": 0, "max": 100}],
     "rules": [{"key": "long_stay", "name": "超长停放", "severity": "WARNING", "duration_s": 4 * 3600,
                "conditions": [{"quantity": "occupied", "op": "==", "value": 1}], "clear_after_silence_s": 7200},
               {"key": "offline", "name": "设备离线", "kind": "offline", "severity": "WARNING", "offline_factor": 6}]},
    {"name": "hydrant", "label": "智能消火栓", "device_type": "市政消火栓", "component_class": "0108",
     "org_code": "320200-yjj", "interval_s": 900, "raw_retention_days": 180, "order_severity": "MAJOR",
     "quantities": [{"key": "pressure", "label": "管网压力", "unit": "MPa", "min": 0, "max": 1.6},
                    {"key": "tilt", "label": "栓体倾角", "unit": "deg", "min": 0, "max": 90}],
     "rules": [{"key": "low_pressure", "name": "水压不足", "severity": "MAJOR", "duration_s": 1800,
                "conditions": [{"quantity": "pressure", "op": "<", "value": 0.14}], "order_type": "BJ0108"},
               {"key": "knocked", "name": "栓体撞倒/倾斜", "severity": "CRITICAL",
                "conditions": [{"quantity": "tilt", "op": ">", "value": 15}], "order_type": "BJ0108"},
               {"key": "pressure_drop", "name": "压力骤降", "severity": "MINOR",
                "conditions": [{"quantity": "pressure", "op": "<", "value": -0.01, "rate": True}]}]},
    {"name": "buoy", "label": "太湖水质浮标", "device_type": "水质自动监测浮标", "component_class": "",
     "org_code": "320200-sthjj", "interval_s": 300, "raw_retention_days": 365, "order_severity": "MAJOR",
     "open_type": "无条件开放",
     "quantities": [{"key": "chla", "label": "叶绿素a", "unit": "ug/L", "min": 0, "max": 1000},
                    {"key": "pc", "label": "藻蓝素", "unit": "ug/L", "min": 0, "max": 1000},
                    {"key": "do", "label": "溶解氧", "unit": "mg/L", "min": 0, "max": 20},
                    {"key": "wt", "label": "水温", "unit": "Cel", "min": -2, "max": 40},
                    {"key": "ph", "label": "pH", "unit": "", "min": 0, "max": 14}],
     "rules": [{"key": "algae_bloom", "name": "蓝藻水华预警", "severity": "MAJOR", "duration_s": 1800,
                "conditions": [{"quantity": "chla", "op": ">", "value": 40}, {"quantity": "pc", "op": ">", "value": 30}],
                "clear_conditions": [{"quantity": "chla", "op": "<", "value": 30}], "order_type": "SJ0704"},
               {"key": "low_do", "name": "溶解氧偏低", "severity": "MAJOR", "duration_s": 1800,
                "conditions": [{"quantity": "do", "op": "<", "value": 3}], "order_type": "SJ0706"},
               {"key": "offline", "name": "浮标离线", "kind": "offline", "severity": "MINOR", "offline_factor": 3}]},
    {"name": "air", "label": "空气质量微站", "device_type": "空气质量监测微站", "component_class": "",
     "org_code": "320200-sthjj", "interval_s": 300, "raw_retention_days": 365, "open_type": "无条件开放",
     "quantities": [{"key": "pm25", "label": "PM2.5", "unit": "ug/m3", "min": 0, "max": 1000},
                    {"key": "pm10", "label": "PM10", "unit": "ug/m3", "min": 0, "max": 2000},
                    {"key": "no2", "label": "二氧化氮", "unit": "ug/m3", "min": 0, "max": 1000}],
     "rules": [{"key": "pm25_high", "name": "PM2.5 重度污染", "severity": "MINOR", "duration_s": 3600,
                "conditions": [{"quantity": "pm25", "op": ">", "value": 150}], "clear_after_silence_s": 3600}]},
]

COUNTS = {"manhole": 1200, "streetlight": 1000, "parking": 600, "hydrant": 400, "air": 35}
HISTORY_HOURS = {"manhole": 6, "streetlight": 6, "parking": 4, "hydrant": 6, "air": 12, "buoy": 72}


def demo_token(code: str) -> str:
    """The demo device's token, derived from a key only this instance has."""
    key = read_or_create(get_settings().keys_dir / DEMO_KEY_FILE, lambda: secrets.token_hex(32).encode()).strip()
    return "dm" + hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:22]


def buoy_sites() -> list[tuple[str, str, float, float]]:
    """Four buoys per 太湖 reference point: the point and three within ~300 m (water, not shore)."""
    from citybase.reference.divisions import city_profile, locate_district

    rng = random.Random(SEED + 7)
    out = []
    for p in city_profile().taihu_points:
        for i in range(4):
            if i == 0:
                lon, lat = p.lon, p.lat
            else:  # within ~130–300 m, and still in the city's waters (some bays border Suzhou)
                for _ in range(100):
                    ang = rng.uniform(0, 2 * math.pi)
                    r = rng.uniform(0.0012, 0.003)
                    lon, lat = p.lon + r * math.cos(ang), p.lat + r * math.sin(ang) * 0.85
                    if locate_district(lon, lat) == (p.district_code or locate_district(p.lon, p.lat)):
                        break
            out.append((p.key, p.name, round(lon, 6), round(lat, 6)))
    return out


def _land_points(n: int, rng: random.Random) -> list[tuple[str, float, float]]:
    """Points spread over the districts in proportion to population, avoiding 太湖 open water."""
    from shapely.geometry import Polygon

    from citybase.demo.synth import random_points_in
    from citybase.reference.divisions import city_data, city_profile, district_boundaries

    profile = city_profile()
    shapes = district_boundaries()
    water = [Polygon(ring) for ring in city_data().get("demo", {}).get("exclude_wgs84", [])]
    pops = {d.code: profile.population.get(d.code, 1) for d in profile.districts}
    total = sum(pops.values())
    out: list[tuple[str, float, float]] = []
    for code in sorted(pops):
        k = max(1, round(n * pops[code] / total))
        geom = shapes[code]
        for w in water:
            geom = geom.difference(w)
        # urban devices cluster near the district's centre: sample in a shrunk area half the time
        pts = random_points_in(geom, k, rng)
        out += [(code, x, y) for x, y in pts]
    rng.shuffle(out)
    return out[:n]


def _serial_codes(profile: dict[str, Any], points: list[tuple[str, float, float]], prefix: str) -> list[str]:
    counters: dict[str, int] = {}
    codes = []
    for dist, _, _ in points:
        counters[dist] = counters.get(dist, 0) + 1
        if profile["component_class"]:
            codes.append(f"{dist}{profile['component_class']}{counters[dist]:06d}")
        else:
            codes.append(f"{prefix}-{dist}-{counters[dist]:05d}")
    return codes


def load(console: Any = None, *, scale: float = 1.0, buoy_hours: int | None = None) -> None:
    """Idempotent: profiles always refreshed; devices and history only when absent.

    ``scale`` shrinks the number of land devices (tests use a small city); ``buoy_hours`` the buoys'
    history."""
    with session_scope() as s:
        for p in PROFILES:
            service.save_profile(s, SYSTEM, p)
    with session_scope() as s:
        if s.execute(select(func.count()).select_from(Device)).scalar_one() > 0:
            return
    rng = random.Random(SEED)
    roads = _roads()
    items: list[DeviceIn] = []
    for p in PROFILES:
        name = p["name"]
        if name == "buoy":
            for n, (key, site, lon, lat) in enumerate(buoy_sites(), start=1):
                code = f"WQ-TH-{key}-{n:02d}"
                items.append(DeviceIn(code=code, name=f"{site}{(n - 1) % 4 + 1}号浮标", profile=name, lon=lon, lat=lat,
                                      address=f"太湖·{site}", attributes={"site": site, "site_key": key,
                                                                          "vendor": "演示厂商", "model": "WQB-5"}))
            continue
        pts = _land_points(max(1, round(COUNTS[name] * scale)), rng)
        codes = _serial_codes(p, pts, {"parking": "PK", "air": "AQ"}.get(name, name.upper()))
        for code, (dist, lon, lat) in zip(codes, pts, strict=True):
            road = rng.choice(roads.get(dist, ["主干道"]))
            items.append(DeviceIn(code=code, name=f"{road}{p['label']}{code[-4:]}", profile=name,
                                  lon=round(lon, 6), lat=round(lat, 6), address=f"{road}{rng.randint(1, 400)}号附近",
                                  attributes={"install_year": rng.choice([2021, 2022, 2023, 2024, 2025])}))
    with session_scope() as s:
        service.devices.bulk_create(s, SYSTEM, items, tokens=[demo_token(i.code) for i in items])
    if console is not None:
        console.print(f"  物联感知：已登记 {len(items)} 台演示设备")
    _history(console, {**HISTORY_HOURS, **({"buoy": buoy_hours} if buoy_hours else {})})
    _live_faults()
    with session_scope() as s:
        for p in PROFILES:
            try:
                with s.begin_nested():
                    service.register_resource(s, SYSTEM, p["name"], publish=True)
            except Exception as exc:  # noqa: BLE001 - the catalogue may be absent or differ; the demo goes on
                if console is not None:
                    console.print(f"  物联感知：目录登记跳过（{exc}）")
    with session_scope() as s:  # the hourly summaries into the lake, so the open datasets have data
        for r in service.export_all(s, SYSTEM, days=7):
            if console is not None and r.get("rows"):
                console.print(f"  物联感知：{r['profile']} 小时汇总 {r['rows']} 行入湖")
    try:
        service.maintenance(archive=False)
    except Exception as exc:  # noqa: BLE001
        if console is not None:
            console.print(f"  物联感知：维护任务跳过（{exc}）")


def _roads() -> dict[str, list[str]]:
    from citybase.reference.divisions import city_data

    return city_data().get("demo", {}).get("roads", {})


def _history(console: Any = None, history_hours: dict[str, int] | None = None) -> None:
    """Hours of realistic readings per device, written in bulk (not through HTTP)."""
    history_hours = history_hours or HISTORY_HOURS
    now = now_ms()
    end = now - now % 60_000
    rng = np.random.default_rng(SEED)
    with session_scope() as s:
        devs = s.execute(select(Device.id, Device.code, Device.profile_id, Device.lon, Device.lat)).all()
        pid_name = {p.id: p.name for p in service.list_profiles(s)}
        ensure_partitions(s, {end - max(history_hours.values()) * HOUR_MS, end})
    rows: list[tuple[int, str, int, float, int]] = []
    interval = {p["name"]: p["interval_s"] * 1000 for p in PROFILES}
    for dev_id, code, pid, _lon, _lat in devs:
        name = pid_name[pid]
        step = interval[name]
        hours = history_hours[name]
        offset = int(rng.integers(0, step // 1000)) * 1000
        ts = np.arange(end - hours * HOUR_MS + offset, end, step, dtype=np.int64)
        if name == "streetlight" and dev_id % 97 == 5:
            ts = ts[: len(ts) // 2]  # a few lamps fell silent: they go offline
        for q, vals in _signal(name, ts, rng, dev_id, code).items():
            rows += [(dev_id, q, int(t), float(round(v, 3)), 0) for t, v in zip(ts.tolist(), vals.tolist(), strict=True)]
    with session_scope() as s:
        n = bulk_load(s, rows, minute=False)  # readings every 5–15 min: minute roll-ups would copy them
        # last seen: the newest reading of each device
        from sqlalchemy import text

        s.execute(text("UPDATE iot_device SET last_seen_ms = (SELECT max(ts) FROM iot_latest l "
                       "WHERE l.device_id = iot_device.id), online = :t"), {"t": True})
    if console is not None:
        console.print(f"  物联感知：已写入 {n} 条历史读数")


def _local_hour(ts: np.ndarray) -> np.ndarray:
    return ((ts // 1000 + 8 * 3600) % 86400) / 3600.0


def _signal(name: str, ts: np.ndarray, rng: np.random.Generator, dev_id: int, code: str) -> dict[str, np.ndarray]:
    n = len(ts)
    h = _local_hour(ts)
    if name == "manhole":
        base = rng.uniform(0.2, 0.8)
        return {"level": np.clip(base + rng.normal(0, 0.03, n), 0, None),
                "tilt": np.abs(rng.normal(1.0, 0.4, n)),
                "battery": np.linspace(rng.uniform(40, 100), rng.uniform(39, 99), n)}
    if name == "streetlight":
        on = ((h >= 17.5) | (h < 6.0)).astype(float)
        cur = on * rng.uniform(0.45, 0.6) + rng.normal(0, 0.01, n) * on
        volt = 220 + rng.normal(0, 3, n)
        return {"switch": on, "voltage": volt, "current": np.clip(cur, 0, None), "power": np.clip(cur * volt, 0, None)}
    if name == "parking":
        busy = 0.35 + 0.45 * np.exp(-((h - 10) ** 2) / 8) + 0.3 * np.exp(-((h - 19) ** 2) / 6)
        return {"occupied": (rng.random(n) < np.clip(busy, 0, 0.95)).astype(float),
                "battery": np.full(n, rng.uniform(50, 100))}
    if name == "hydrant":
        return {"pressure": np.clip(rng.uniform(0.25, 0.4) + rng.normal(0, 0.01, n), 0, None),
                "tilt": np.abs(rng.normal(0.8, 0.3, n))}
    if name == "air":
        base = rng.uniform(25, 60)
        pm25 = np.clip(base * (1 + 0.35 * np.sin((h - 8) / 24 * 2 * math.pi)) + rng.normal(0, 4, n), 1, None)
        return {"pm25": pm25, "pm10": pm25 * rng.uniform(1.4, 1.9), "no2": np.clip(rng.uniform(20, 50)
                                                                               + rng.normal(0, 5, n), 1, None)}
    # buoy: 蓝藻 indicators with a diurnal cycle; 梅梁湖 and 竺山湖 bloom-prone
    bloom = 1.8 if ("meiliang" in code or "zhushan" in code) else 1.0
    day = np.sin((h - 9) / 24 * 2 * math.pi)
    chla = np.clip((14 + 7 * day) * bloom + rng.normal(0, 1.5, n) + np.linspace(0, 6 * bloom, n), 0.5, None)
    pc = np.clip(chla * rng.uniform(0.55, 0.8) + rng.normal(0, 1.0, n), 0.2, None)
    do = np.clip(8.2 + 1.4 * day - (chla - 15) * 0.03 + rng.normal(0, 0.15, n), 0.5, None)
    wt = 15.5 + 1.2 * np.sin((h - 14) / 24 * 2 * math.pi) + rng.normal(0, 0.08, n)
    ph = 7.9 + 0.35 * day + rng.normal(0, 0.04, n)
    return {"chla": chla, "pc": pc, "do": do, "wt": wt, "ph": ph}


def _live_faults() -> None:
    """A handful of devices report faults through the normal path: alarms open (and work orders)."""
    now = now_ms()
    with session_scope() as s:
        pick: dict[str, list[Any]] = {}
        for p in ("manhole", "streetlight", "hydrant", "buoy"):
            pid = service.get_profile(s, p).id
            pick[p] = list(s.execute(select(Device).where(Device.profile_id == pid).order_by(Device.id)
                                     .limit(400)).scalars())
    faults: list[tuple[Any, list]] = []
    for d in pick["manhole"][5:200:24]:  # water rising above 2 m for over 10 minutes
        faults.append((d, [("level", now - (25 - m) * 60_000, 2.1 + m * 0.04, None) for m in range(0, 25, 2)]))
    for d in pick["manhole"][7:200:61]:  # cover lifted twice in a row
        faults.append((d, [("tilt", now - 120_000, 48.0, None), ("tilt", now - 60_000, 52.0, None)]))
    for d in pick["hydrant"][3:300:70]:
        faults.append((d, [("pressure", now - (40 - m) * 60_000, 0.1, None) for m in range(0, 40, 5)]))
    for d in pick["buoy"]:
        if "meiliang" in d.code or "zhushan" in d.code:
            faults.append((d, [(q, now - (45 - m) * 60_000, v, None) for m in range(0, 45, 5)
                               for q, v in (("chla", 52.0 + m * 0.3), ("pc", 36.0 + m * 0.2))]))
    from sqlalchemy import text

    for d, records in faults:
        auth = service.DeviceAuth(d.id, d.code, d.profile_id, d.org_code)
        with session_scope() as s:
            # the fault replaces the normal history of its window (no interleaved values on the chart)
            for q in {r[0] for r in records}:
                first = min(r[1] for r in records if r[0] == q)
                s.execute(text("DELETE FROM iot_reading WHERE device_id = :d AND quantity = :q AND ts >= :a"),
                          {"d": d.id, "q": q, "a": first})
                s.execute(text("DELETE FROM iot_latest WHERE device_id = :d AND quantity = :q"), {"d": d.id, "q": q})
            service.ingest(s, auth, records, now=now)
