"""Shared test helpers: a water-level profile with every rule kind, and devices."""

from __future__ import annotations

from typing import Any

from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope

LEVEL_PROFILE: dict[str, Any] = {
    "name": "test-manhole",
    "label": "测试井盖",
    "device_type": "manhole",
    "component_class": "0103",
    "org_code": "320200-cgj",
    "interval_s": 60,
    "raw_retention_days": 30,
    "order_severity": "MAJOR",
    "quantities": [
        {"key": "level", "label": "水位", "unit": "m", "min": 0, "max": 10},
        {"key": "tilt", "label": "倾角", "unit": "deg", "min": 0, "max": 90},
        {"key": "battery", "label": "电量", "unit": "%", "min": 0, "max": 100},
    ],
    "rules": [
        {"key": "high_level", "name": "水位超限", "severity": "MAJOR",
         "conditions": [{"quantity": "level", "op": ">", "value": 2.0}], "duration_s": 600,
         "clear_conditions": [{"quantity": "level", "op": "<", "value": 1.5}], "order_type": "BJ0103"},
        {"key": "opened", "name": "井盖异常", "severity": "CRITICAL", "logic": "OR",
         "conditions": [{"quantity": "tilt", "op": ">", "value": 30}, {"quantity": "level", "op": ">", "value": 5}],
         "repeat": 2, "clear_after_silence_s": 1800},
        {"key": "rising", "name": "水位快速上涨", "severity": "MINOR",
         "conditions": [{"quantity": "level", "op": ">", "value": 0.5, "rate": True}]},
        {"key": "low_battery", "name": "电量低", "severity": "WARNING",
         "conditions": [{"quantity": "battery", "op": "<", "value": 20}]},
        {"key": "offline", "name": "设备离线", "kind": "offline", "severity": "MINOR", "offline_factor": 3},
    ],
}


def make_profile(overrides: dict[str, Any] | None = None) -> None:
    from citybase.iot import service

    with session_scope() as s:
        service.save_profile(s, SYSTEM, {**LEVEL_PROFILE, **(overrides or {})})


def make_device(code: str = "3202130103000001", lon: float = 120.30, lat: float = 31.57,
                profile: str = "test-manhole", **extra: Any) -> str:
    from citybase.iot import service

    with session_scope() as s:
        _, token = service.create_device(s, SYSTEM, {"code": code, "profile": profile, "lon": lon, "lat": lat,
                                                     **extra})
    return token


def device_id(code: str) -> int:
    from citybase.db import make_session
    from citybase.iot import service

    with make_session() as s:
        return service.get_device(s, code).id
