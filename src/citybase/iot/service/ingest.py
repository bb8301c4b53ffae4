"""Telemetry in: ThingsBoard JSON and SenML (RFC 8428) parsing, validation, durable storage.

A batch is written in the caller's transaction: raw readings (duplicates of (device, quantity, ts)
ignored), latest values, dirty roll-up buckets, device last-seen, and rule evaluation. The caller
acknowledges (HTTP 200 / MQTT PUBACK) only after that transaction commits.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import BadInput, RateLimited, TooLarge
from citybase.core.ratelimit import TokenBucket
from citybase.db import is_postgres
from citybase.iot.schemas import IngestResult
from citybase.iot.service.common import ProfileSpec, now_ms, profile_spec
from citybase.iot.service.devices import DeviceAuth
from citybase.iot.service.storage import ensure_partitions, insert_new

FLAG_OK, FLAG_RANGE, FLAG_UNDECLARED = 0, 1, 2
HOUR_MS = 3_600_000
SENML_RELATIVE = 2**28
MAX_ERRORS_SHOWN = 20

# A record: (quantity name, ts in ms or None for "now", raw value, unit or None)
Record = tuple[str, int | None, Any, str | None]


# ---------------------------------------------------------------- rate limiting (per device, per process)

_limiter: TokenBucket | None = None


def limiter() -> TokenBucket:
    """This process's per-device token bucket (``CITYBASE_IOT_RATE_PER_S``, ``CITYBASE_IOT_RATE_BURST``)."""
    global _limiter
    if _limiter is None:
        s = get_settings()
        _limiter = TokenBucket(s.iot_rate_per_s, s.iot_rate_burst)
    return _limiter


def check_rate(auth: DeviceAuth) -> None:
    if not limiter().allow(auth.id):
        raise RateLimited("该设备上报过于频繁，已限流（其他设备不受影响）", code="device_rate_limited",
                          detail={"device": auth.code, "rate_per_s": get_settings().iot_rate_per_s})


# ---------------------------------------------------------------- parsing

def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput("请求体不是有效的 JSON", code="invalid_json", detail={"error": str(exc)[:200]}) from exc


def thingsboard_records(payload: Any) -> list[Record]:
    """``{"k": v}``, ``{"ts": ms, "values": {...}}`` or a list of them."""
    items = payload if isinstance(payload, list) else [payload]
    out: list[Record] = []
    for item in items:
        if not isinstance(item, dict):
            raise BadInput("遥测数据应为 JSON 对象或对象数组", code="invalid_telemetry")
        if "values" in item and "ts" in item:
            ts, values = item["ts"], item["values"]
            if not isinstance(values, dict) or isinstance(ts, bool) or not isinstance(ts, int | float):
                raise BadInput("带时间戳的遥测应为 {\"ts\": 毫秒, \"values\": {...}}", code="invalid_telemetry")
            t = int(ts)
            out.extend((k, t, v, None) for k, v in values.items())
        else:
            out.extend((k, None, v, None) for k, v in item.items())
    _check_size(len(out))
    return out


def _check_size(n: int) -> None:
    limit = get_settings().iot_max_batch
    if n > limit:
        raise TooLarge(f"一次最多提交 {limit} 条读数，本次 {n} 条", code="batch_too_large",
                       detail={"limit": limit, "count": n})


def senml_records(payload: Any, now: int | None = None) -> list[Record]:
    """Resolve a SenML pack (RFC 8428 §4.6): base name/time/unit/value, relative times."""
    if not isinstance(payload, list) or not payload:
        raise BadInput("SenML 数据应为非空的 JSON 数组", code="invalid_senml")
    _check_size(len(payload))
    now_s = (now if now is not None else now_ms()) / 1000.0
    bn, bt, bu, bv = "", 0.0, None, 0.0
    out: list[Record] = []
    for i, rec in enumerate(payload):
        if not isinstance(rec, dict):
            raise BadInput(f"SenML 第 {i + 1} 条记录不是 JSON 对象", code="invalid_senml", detail={"index": i})
        try:
            if "bver" in rec and (not isinstance(rec["bver"], int) or rec["bver"] > 10):
                raise BadInput("不支持的 SenML 版本", code="invalid_senml", detail={"index": i})
            if "bn" in rec:
                bn = _str(rec["bn"])
            if "bt" in rec:
                bt = _num(rec["bt"])
            if "bu" in rec:
                bu = _str(rec["bu"])
            if "bv" in rec:
                bv = _num(rec["bv"])
            if all(k.startswith("b") for k in rec):
                continue  # a record carrying only base fields sets context for the next ones
            name = bn + _str(rec.get("n", ""))
            if not name:
                raise BadInput(f"SenML 第 {i + 1} 条记录缺少名称（bn/n）", code="invalid_senml", detail={"index": i})
            t = bt + _num(rec.get("t", 0.0))
        except (TypeError, ValueError) as exc:
            raise BadInput(f"SenML 第 {i + 1} 条记录字段类型错误", code="invalid_senml",
                           detail={"index": i, "error": str(exc)}) from exc
        if abs(t) < SENML_RELATIVE:  # relative to now (RFC 8428 §4.5.3)
            t = now_s + t
        if "v" in rec:
            v = rec["v"]
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = v + bv
        elif "vb" in rec:
            v = rec["vb"]
        elif "vs" in rec:
            v = rec["vs"]
        elif "vd" in rec:
            v = rec["vd"]
        elif "s" in rec:
            v = rec["s"]
        elif "bv" in rec:
            v = bv
        else:
            raise BadInput(f"SenML 第 {i + 1} 条记录没有值（v/vb/vs/vd/s）", code="invalid_senml",
                           detail={"index": i})
        out.append((name, int(round(t * 1000)), v, rec.get("u", bu)))
    return out


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("expected a string")
    return v


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError("expected a number")
    return float(v)


def _quantity(name: str, spec: ProfileSpec) -> str:
    if name in spec.quantities:
        return name
    for sep in (":", "/", "."):
        if sep in name:
            tail = name.rsplit(sep, 1)[1]
            if tail in spec.quantities:
                return tail
    return name


# ---------------------------------------------------------------- validation + storage

class Tally:
    """Per-device counts of one batch (a plain object: the hot path builds thousands per second)."""

    __slots__ = ("accepted", "duplicates", "flagged", "rejected", "errors")

    def __init__(self, accepted: int = 0, rejected: int = 0) -> None:
        self.accepted, self.duplicates, self.flagged, self.rejected = accepted, 0, 0, rejected
        self.errors: list[dict[str, Any]] = []

    def result(self) -> IngestResult:
        return IngestResult(accepted=self.accepted, duplicates=self.duplicates, flagged=self.flagged,
                            rejected=self.rejected, errors=self.errors)


class Batch:
    """Validated rows of one or more devices, ready to store."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, int, float, int]] = []
        self.result: dict[int, Tally] = {}
        self.profiles: dict[int, int] = {}


def validate(session: Session, auth: DeviceAuth, records: Iterable[Record], batch: Batch,
             now: int | None = None) -> Tally:
    spec = profile_spec(session, auth.profile_id)
    settings = get_settings()
    now = now if now is not None else now_ms()
    hi = now + settings.iot_max_future_s * 1000
    lo = now - settings.iot_max_age_days * 86_400_000
    res = batch.result.get(auth.id)
    if res is None:
        res = batch.result[auth.id] = Tally()
    batch.profiles[auth.id] = auth.profile_id
    rows = batch.rows
    quantities = spec.quantities
    dev = auth.id
    for name, ts, value, unit in records:
        q = name if name in quantities else _quantity(str(name), spec)
        if len(q) > 40 or not q:
            _reject(res, q[:40], ts, "bad_quantity", "量值名称为空或超过 40 个字符")
            continue
        if isinstance(value, bool):
            value = 1.0 if value else 0.0
        elif isinstance(value, int | float):
            value = float(value)
            if value != value or value in (math.inf, -math.inf):
                _reject(res, q, ts, "non_numeric", "数值无效（NaN 或无穷大）")
                continue
        else:
            _reject(res, q, ts, "non_numeric", "该量值须为数值")
            continue
        if ts is None:
            ts = now
        elif ts > hi:
            _reject(res, q, ts, "future_timestamp", "时间戳晚于服务器当前时间")
            continue
        elif ts < lo:
            _reject(res, q, ts, "too_old", f"时间戳早于 {settings.iot_max_age_days} 天前")
            continue
        qs = quantities.get(q)
        if qs is None:
            flag = FLAG_UNDECLARED
        else:
            if unit is not None and qs.unit and unit != qs.unit:
                _reject(res, q, ts, "unit_mismatch", f"单位应为 {qs.unit}，收到 {unit}")
                continue
            flag = FLAG_OK
            if (qs.min is not None and value < qs.min) or (qs.max is not None and value > qs.max):
                flag = FLAG_RANGE
        if flag:
            res.flagged += 1
        rows.append((dev, q, ts, value, flag))
    return res


def _reject(res: Tally, q: str, ts: int | None, code: str, message: str) -> None:
    res.rejected += 1
    if len(res.errors) < MAX_ERRORS_SHOWN:
        res.errors.append({"quantity": q, "ts": ts, "code": code, "message": message})


def store(session: Session, batch: Batch, now: int | None = None) -> None:
    """Write a validated batch (raw, latest, dirty hours, last seen, rules) in the caller's transaction.

    Only readings that were new (not already stored) move latest values and rules, so a device
    resending after a lost acknowledgement changes nothing."""
    from citybase.iot.service import alarms

    rows = batch.rows
    now = now if now is not None else now_ms()
    new: list[tuple[int, str, int, float, int]] = []
    if rows:
        # de-duplicate inside the batch (first wins, as the database does across batches)
        seen: dict[tuple[int, str, int], tuple[int, str, int, float, int]] = {}
        for r in rows:
            seen.setdefault((r[0], r[1], r[2]), r)
        unique = list(seen.values()) if len(seen) != len(rows) else rows
        ensure_partitions(session, {r[2] for r in unique})
        context = alarms.rule_context(session, batch.profiles)
        new = insert_new(session, unique)
        per_dev: dict[int, int] = defaultdict(int)
        for r in new:
            per_dev[r[0]] += 1
        totals: dict[int, int] = defaultdict(int)
        for r in rows:
            totals[r[0]] += 1
        for dev_id, res in batch.result.items():
            res.accepted = per_dev.get(dev_id, 0)
            res.duplicates = totals.get(dev_id, 0) - res.accepted
        if new:
            _update_latest(session, new)
            _mark_dirty(session, new)
    _touch_devices(session, sorted(batch.result), now)
    if new:
        alarms.evaluate_batch(session, new, now, batch.profiles, context)


def _update_latest(session: Session, rows: list[tuple[int, str, int, float, int]]) -> None:
    latest: dict[tuple[int, str], tuple[int, float, int]] = {}
    for d, q, ts, v, f in rows:
        cur = latest.get((d, q))
        if cur is None or ts > cur[0]:
            latest[(d, q)] = (ts, v, f)
    items = [(d, q, t, v, f) for (d, q), (t, v, f) in sorted(latest.items())]
    upsert = ("ON CONFLICT (device_id, quantity) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
              "flag = excluded.flag WHERE excluded.ts > iot_latest.ts")
    if is_postgres(session):
        session.connection().exec_driver_sql(
            "INSERT INTO iot_latest (device_id, quantity, ts, value, flag) SELECT * FROM unnest(%b::int4[], "
            "%b::varchar[], %b::int8[], %b::float8[], %b::int2[]) " + upsert,
            tuple(list(c) for c in zip(*items, strict=True)))
    else:
        session.connection().exec_driver_sql(
            "INSERT INTO iot_latest (device_id, quantity, ts, value, flag) VALUES (?, ?, ?, ?, ?) " + upsert, items)


def _mark_dirty(session: Session, rows: list[tuple[int, str, int, float, int]]) -> None:
    hours = sorted({(r[0], r[2] - r[2] % HOUR_MS) for r in rows})
    if is_postgres(session):
        session.connection().exec_driver_sql(
            "INSERT INTO iot_dirty (device_id, hour_ms) SELECT * FROM unnest(%b::int4[], %b::int8[]) "
            "ON CONFLICT DO NOTHING", tuple(list(c) for c in zip(*hours, strict=True)))
    else:
        session.connection().exec_driver_sql(
            "INSERT INTO iot_dirty (device_id, hour_ms) VALUES (?, ?) ON CONFLICT DO NOTHING", hours)


TOUCH_EVERY_MS = 10_000  # last-seen precision: offline detection works in multiples of minutes


def _touch_devices(session: Session, device_ids: list[int], now: int) -> None:
    """Record last contact; a device's row is written at most every 10 s (or when it was offline)."""
    if not device_ids:
        return
    if is_postgres(session):
        session.connection().exec_driver_sql(
            "UPDATE iot_device SET last_seen_ms = %s, online = true FROM unnest(%b::int4[]) AS v(id) "
            "WHERE iot_device.id = v.id AND (iot_device.last_seen_ms IS NULL OR iot_device.last_seen_ms < %s "
            "OR NOT iot_device.online)", (now, device_ids, now - TOUCH_EVERY_MS))
    else:
        session.connection().exec_driver_sql(
            "UPDATE iot_device SET last_seen_ms = ?, online = 1 WHERE id = ? AND (last_seen_ms IS NULL "
            "OR last_seen_ms < ? OR online = 0)", [(now, i, now - TOUCH_EVERY_MS) for i in device_ids])


def finish(result: IngestResult) -> IngestResult:
    """Raise when nothing of a submission was usable, so the sender sees a clear 4xx."""
    if result.accepted == 0 and result.duplicates == 0 and result.rejected:
        first = result.errors[0] if result.errors else {}
        raise BadInput(f"所有读数均被拒收：{first.get('message', '')}", code=first.get("code", "rejected"),
                       detail=result.model_dump())
    return result


def ingest(session: Session, auth: DeviceAuth, records: list[Record], now: int | None = None) -> IngestResult:
    """Validate and store one device's readings (HTTP paths)."""
    batch = Batch()
    now = now if now is not None else now_ms()
    res = validate(session, auth, records, batch, now)
    store(session, batch, now)
    return res.result()


def ingest_many(session: Session, items: list[tuple[DeviceAuth, list[Record]]],
                now: int | None = None) -> list[Tally]:
    """Validate and store many devices' readings in one transaction (the MQTT bridge's group commit)."""
    batch = Batch()
    now = now if now is not None else now_ms()
    out = []
    for auth, records in items:
        before_rows, res_before = len(batch.rows), batch.result.get(auth.id)
        rejected_before = res_before.rejected if res_before else 0
        res = validate(session, auth, records, batch, now)
        out.append(Tally(accepted=len(batch.rows) - before_rows, rejected=res.rejected - rejected_before))
    store(session, batch, now)
    return out
