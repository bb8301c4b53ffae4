"""Shared helpers of the IoT service: settings, time, profile caches, job cursors."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.iot.models import JobState, Profile
from citybase.iot.schemas import Quantity, Rule


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
    qs = [Quantity(**q) for q in p.quantities or []]
    rules = [Rule(**r) for r in p.rules or []]
    return ProfileSpec(p.id, p.name, p.label, p.org_code, p.interval_s, {q.key: q for q in qs}, rules,
                       p.order_severity, p.raw_retention_days, p.agg_retention_days)


def profile_spec(session: Session, profile_id: int) -> ProfileSpec:
    spec = _specs.get(profile_id)
    if spec is not None and time.monotonic() - spec.loaded_at < get_settings().iot_cache_ttl_s:
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
    return row.value if row else default


def job_set(session: Session, key: str, value: Any) -> None:
    row = session.get(JobState, key)
    value = json.loads(json.dumps(value, default=str))  # as it reads back: dates as text
    if row is None:
        session.add(JobState(key=key, value=value))
    else:
        row.value = value


def select_profiles(session: Session) -> list[Profile]:
    return list(session.execute(select(Profile).order_by(Profile.id)).scalars())
