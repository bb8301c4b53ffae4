"""Shared helpers of the IoT service: settings, time, profile caches, job cursors, neighbours."""

from __future__ import annotations

import importlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.iot.models import JobState, Profile
from citybase.iot.schemas import Quantity, Rule


class IotSettings(BaseSettings):
    """IoT knobs (env ``CITYBASE_IOT_*``)."""

    model_config = SettingsConfigDict(env_prefix="CITYBASE_IOT_", extra="ignore")

    max_batch: int = 20000  # readings per request / message
    max_future_s: int = 300  # readings more than this ahead of the server clock are rejected
    max_age_days: int = 30  # readings older than this are rejected (late data has its own path: import)
    rate_per_s: float = 50.0  # requests (or MQTT messages) per device per second, sustained
    rate_burst: float = 200.0
    cache_ttl_s: float = 5.0  # how long device credentials are cached per process
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883  # the Mosquitto broker the bridge publishes normalised telemetry to
    gateway_host: str = "0.0.0.0"
    gateway_port: int = 1884  # where devices connect (MQTT 3.1.1)


@lru_cache(maxsize=1)
def iot_settings() -> IotSettings:
    return IotSettings()


def now_ms() -> int:
    return int(time.time() * 1000)


def ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def dt_to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def lake_root() -> Path:
    return get_settings().lake_dir / "iot"


# ---------------------------------------------------------------- profile specs (cached per process)

@dataclass
class ProfileSpec:
    id: int
    name: str
    label: str
    org_code: str
    interval_s: int
    quantities: dict[str, Quantity]
    rules: list[Rule]
    order_severity: str | None
    raw_retention_days: int
    agg_retention_days: int
    loaded_at: float = field(default_factory=time.monotonic)


_spec_lock = threading.Lock()
_specs: dict[int, ProfileSpec] = {}


def spec_from_row(p: Profile) -> ProfileSpec:
    qs = [Quantity(**q) for q in json.loads(p.quantities or "[]")]
    rules = [Rule(**r) for r in json.loads(p.rules or "[]")]
    return ProfileSpec(p.id, p.name, p.label, p.org_code, p.interval_s, {q.key: q for q in qs}, rules,
                       p.order_severity, p.raw_retention_days, p.agg_retention_days)


def profile_spec(session: Session, profile_id: int) -> ProfileSpec:
    spec = _specs.get(profile_id)
    if spec is not None and time.monotonic() - spec.loaded_at < iot_settings().cache_ttl_s:
        return spec
    row = session.get(Profile, profile_id)
    assert row is not None
    spec = spec_from_row(row)
    with _spec_lock:
        _specs[profile_id] = spec
    return spec


def forget_profile(profile_id: int | None = None) -> None:
    with _spec_lock:
        if profile_id is None:
            _specs.clear()
        else:
            _specs.pop(profile_id, None)


# ---------------------------------------------------------------- job cursors

def job_get(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(JobState, key)
    return json.loads(row.value) if row else default


def job_set(session: Session, key: str, value: Any) -> None:
    row = session.get(JobState, key)
    text = json.dumps(value, default=str)
    if row is None:
        session.add(JobState(key=key, value=text))
    else:
        row.value = text


# ---------------------------------------------------------------- neighbours (may be late)

def neighbour(module: str, *names: str) -> Any | None:
    """``citybase.<module>.service`` if it exists and has every named function, else None."""
    try:
        mod = importlib.import_module(f"citybase.{module}.service")
    except ImportError:
        return None
    return mod if all(hasattr(mod, n) for n in names) else None


def integrations() -> dict[str, bool]:
    """Which neighbouring services are present (shown on pages and in reports)."""
    return {
        "grid": neighbour("grid", "locate") is not None,
        "events": neighbour("events", "intake", "orders_closed_since") is not None,
        "catalog": neighbour("catalog", "create_resource", "publish_direct") is not None,
        "lake": neighbour("lake", "ingest_table") is not None,
    }


def select_profiles(session: Session) -> list[Profile]:
    return list(session.execute(select(Profile).order_by(Profile.id)).scalars())
