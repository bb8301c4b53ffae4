"""The IoT module's public service API (other modules call these, never the tables).

Devices: ``save_profile``, ``list_profiles``, ``create_device``, ``import_devices``, ``set_status``,
``rotate_token``, ``set_attributes``, ``list_devices``, ``map_points``.
Telemetry: ``ingest`` (one device), ``ingest_many`` (group commit), ``senml_records``, ``thingsboard_records``.
Queries: ``latest``, ``series``, ``area_latest``, ``area_series``.
Alarms: ``list_alarms``, ``acknowledge``, ``clear``, ``alarm_counts``.
Jobs: ``maintenance`` (roll-ups, offline, clear-after-silence, archive, work orders).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from citybase.db import session_scope
from citybase.iot.models import Device
from citybase.iot.service.alarms import (
    acknowledge,
    alarm_counts,
    alarm_out,
    check_offline,
    clear,
    clear_silent,
    list_alarms,
    sync_orders,
)
from citybase.iot.service.common import now_ms
from citybase.iot.service.devices import (
    DeviceAuth,
    attributes,
    authenticate_mqtt,
    authenticate_token,
    create_device,
    device_out,
    get_device,
    get_profile,
    import_devices,
    list_devices,
    list_profiles,
    locate,
    map_points,
    profile_out,
    report_attributes,
    rotate_token,
    save_profile,
    set_attributes,
    set_status,
)
from citybase.iot.service.ingest import (
    check_rate,
    finish,
    ingest,
    ingest_many,
    limiter,
    parse_json,
    senml_records,
    thingsboard_records,
)
from citybase.iot.service.integration import export_all, export_hourly, register_resource
from citybase.iot.service.storage import (
    archive_expired,
    area_latest,
    area_series,
    drop_empty_partitions,
    drop_partitions,
    latest,
    raw_readings,
    rollup_all,
    run_rollups,
    series,
)

__all__ = [
    "DeviceAuth", "acknowledge", "alarm_counts", "alarm_out", "archive_expired", "area_latest", "area_series",
    "attributes", "authenticate_mqtt", "authenticate_token", "check_offline", "check_rate", "clear",
    "clear_silent", "create_device", "device_by_id", "device_out", "export_all", "export_hourly", "finish",
    "get_device", "get_profile", "import_devices", "ingest", "ingest_many",
    "latest", "limiter", "list_alarms", "list_devices", "list_profiles", "locate", "maintenance", "map_points",
    "now_ms", "parse_json", "profile_out", "raw_readings", "register_resource", "report_attributes",
    "rollup_all", "rotate_token", "run_rollups", "save_profile", "senml_records", "series", "set_attributes",
    "set_status", "sync_orders", "taihu_sites", "thingsboard_records",
]


def device_by_id(session: Any, device_id: int) -> Device | None:
    return session.execute(select(Device).where(Device.id == device_id)).scalar_one_or_none()


def maintenance(now: int | None = None, *, archive: bool = True, orders: bool = True) -> dict[str, Any]:
    """Everything the periodic job does, each step in its own transaction."""
    now = now if now is not None else now_ms()
    out: dict[str, Any] = {}
    out["rollups"] = rollup_all(session_scope)
    with session_scope() as s:
        out["offline"] = check_offline(s, now)
    with session_scope() as s:
        out["silence_cleared"] = clear_silent(s, now)
    if archive:
        with session_scope() as s:
            out["archived"] = archive_expired(s, now)
            dropped = drop_empty_partitions(s, now)
        drop_partitions(dropped)
        out["dropped_partitions"] = dropped
    if orders:
        with session_scope() as s:
            out["orders"] = sync_orders(s)
    return out


def taihu_sites(session: Any, hours: int, quantities: list[str],
                profile: str = "buoy") -> tuple[list[dict[str, Any]], bool]:
    """太湖 buoys grouped by water area (their ``site`` attribute): latest averages, hourly trends, alarm
    flags and a 蓝藻 risk level from chlorophyll-a. Refreshes the buoys' roll-ups (write session)."""
    from citybase.core.errors import NotFound
    from citybase.iot.service.storage import HOUR_MS

    try:
        prof = get_profile(session, profile)
    except NotFound:
        return [], False
    now = now_ms()
    start = now - hours * HOUR_MS
    buoys = list(session.execute(select(Device).where(Device.profile_id == prof.id).order_by(Device.code)).scalars())
    active = {a.device_id for a in list_alarms(session, status="active", limit=5000)}
    sites: dict[str, dict[str, Any]] = {}
    for d in buoys:
        site = attributes(session, d.id)["static"].get("site") or d.address or d.name
        site = str(site).split("（")[0]
        entry = sites.setdefault(site, {"name": site, "devices": [], "series": {}, "latest": {}})
        entry["devices"].append({"code": d.code, "name": d.name, "lon": d.lon, "lat": d.lat,
                                 "alarm": d.id in active, "latest": latest(session, d.id)})
        for key in quantities:
            acc = entry["series"].setdefault(key, {})
            for p in series(session, d.id, key, start, now + 1, "hour"):
                a = acc.setdefault(p["ts"], [0.0, 0])
                a[0] += p["avg"] * p["count"]
                a[1] += p["count"]
    for entry in sites.values():
        entry["series"] = {k: [[ts, round(v[0] / v[1], 2)] for ts, v in sorted(acc.items()) if v[1]]
                           for k, acc in entry["series"].items()}
        for key in quantities:
            vals = [dev["latest"][key]["value"] for dev in entry["devices"] if key in dev["latest"]]
            entry["latest"][key] = round(sum(vals) / len(vals), 2) if vals else None
        entry["alarm"] = any(dev["alarm"] for dev in entry["devices"])
        chla = entry["latest"].get("chla")
        entry["level"] = ("无数据" if chla is None else "重度" if chla >= 60 else "中度" if chla >= 40
                          else "轻度" if chla >= 20 else "正常")
    return list(sites.values()), True
