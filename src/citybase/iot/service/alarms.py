"""Rules and alarms: thresholds with AND/OR, duration, repeat counts, rate of change, offline detection,
clear conditions and clear after silence; ACTIVE_UNACK → ACTIVE_ACK → CLEARED; one active alarm per
(device, type), repeats extend it; alarms of the profile's configured severity open work orders."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, select, text
from sqlalchemy.orm import Session

from citybase.core.audit.service import record
from citybase.core.errors import IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.time import utcnow
from citybase.db import is_postgres
from citybase.events import service as events
from citybase.events.schemas import IntakeIn
from citybase.iot.models import Alarm, Device, Profile
from citybase.iot.schemas import SEVERITY_LABELS, SEVERITY_RANK, STATUS_LABELS, AlarmOut, Rule
from citybase.iot.service.common import (
    ProfileSpec,
    job_get,
    job_set,
    ms_to_dt,
    now_ms,
    profile_spec,
)
from citybase.iot.service.storage import latest_context
from citybase.standards.units import quantity_text

log = logging.getLogger("citybase.iot")

_OPS = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


# ---------------------------------------------------------------- evaluation on ingest

class _Compiled:
    """A rule turned into tuples the hot loop evaluates without attribute lookups."""

    __slots__ = ("rule", "wanted", "conds", "any_", "clear_conds", "clear_any", "repeat", "duration_ms", "keep_prev")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.wanted = frozenset(c.quantity for c in rule.conditions + rule.clear_conditions)
        self.conds = tuple((c.quantity, 2 if c.rate else 1, _OPS[c.op], c.value) for c in rule.conditions)
        self.any_ = rule.logic == "OR"
        self.clear_conds = tuple((c.quantity, 2 if c.rate else 1, _OPS[c.op], c.value) for c in rule.clear_conditions)
        self.clear_any = rule.clear_logic == "OR"
        self.repeat, self.duration_ms = rule.repeat, rule.duration_s * 1000
        # earlier values matter across batches only for rates and for conditions on several quantities
        self.keep_prev = len(self.wanted) > 1 or any(c.rate for c in rule.conditions + rule.clear_conditions)


_compiled: dict[int, tuple[Any, list[_Compiled]]] = {}


def _rules_of(spec: ProfileSpec) -> list[_Compiled]:
    hit = _compiled.get(spec.id)
    if hit is None or hit[0] is not spec:
        hit = (spec, [_Compiled(r) for r in spec.rules if r.kind == "threshold"])
        _compiled[spec.id] = hit
    return hit[1]


def _eval(conds: tuple, any_: bool, cur: dict[str, list]) -> bool:
    for q, idx, op, val in conds:
        v = cur.get(q)
        x = None if v is None else v[idx]
        ok = x is not None and op(x, val)
        if any_ and ok:
            return True
        if not any_ and not ok:
            return False
    return not any_


class _Fires:
    """Alarm changes of one batch, applied to the ORM once per alarm (repeats are cheap)."""

    def __init__(self) -> None:
        self.repeats: dict[int, list] = {}  # id(alarm) -> [alarm, count, last_ts, values]

    def repeat(self, alarm: Alarm, ts: int, cur: dict[str, list]) -> None:
        acc = self.repeats.get(id(alarm))
        if acc is None:
            self.repeats[id(alarm)] = [alarm, 1, ts, cur]
        else:
            acc[1] += 1
            acc[2] = max(acc[2], ts)
            acc[3] = cur

    def flush(self, alarm: Alarm | None = None) -> None:
        items = [self.repeats.pop(id(alarm))] if alarm is not None and id(alarm) in self.repeats else \
            (list(self.repeats.values()) if alarm is None else [])
        if alarm is None:
            self.repeats.clear()
        for a, n, ts, cur in items:
            a.repeat_count += n
            a.last_at = max(a.last_at, ms_to_dt(ts))
            a.detail = {**(a.detail or {}), "values": {q: v[1] for q, v in cur.items()}}


def rule_context(session: Session, profiles: dict[int, int]) -> dict[int, dict[str, list]]:
    """Before a batch is stored: the last good values of the devices that have threshold rules (the
    earlier reading a rate of change or an AND/OR over several quantities needs)."""
    specs = {pid: profile_spec(session, pid) for pid in set(profiles.values())}
    ruled = sorted(d for d, pid in profiles.items() if any(c.keep_prev for c in _rules_of(specs[pid])))
    return latest_context(session, ruled) if ruled else {}


def evaluate_batch(session: Session, rows: list[tuple[int, str, int, float, int]], now: int,
                   profiles: dict[int, int] | None = None,
                   context: dict[int, dict[str, list]] | None = None) -> None:
    """Run every threshold rule over the new readings, device by device, in time order."""
    dev_ids = sorted({r[0] for r in rows})
    if profiles is None or any(d not in profiles for d in dev_ids):
        profiles = dict(session.execute(select(Device.id, Device.profile_id).where(Device.id.in_(dev_ids))).all())
    specs: dict[int, ProfileSpec] = {pid: profile_spec(session, pid) for pid in set(profiles[d] for d in dev_ids)}
    ruled = [d for d in dev_ids if _rules_of(specs[profiles[d]])]
    offline_rules = {pid: {r.key for r in sp.rules if r.kind == "offline"} for pid, sp in specs.items()}
    active = _active_alarms(session, dev_ids)
    # data arrived: an offline alarm of these devices clears by its own condition
    for (dev, typ), alarm in list(active.items()):
        if typ in offline_rules.get(profiles.get(dev), set()):
            _clear(alarm, "condition", "system", ms_to_dt(now))
            del active[(dev, typ)]
    if not ruled:
        return
    if context is None:
        context = latest_context(session, ruled)
    by_dev: dict[int, list[tuple[int, str, float]]] = defaultdict(list)
    ruled_set = set(ruled)
    for d, q, ts, v, f in rows:
        if f == 0 and d in ruled_set:
            by_dev[d].append((ts, q, v))
    states = _load_states(session, ruled)
    changed: list[tuple] = []
    fires = _Fires()
    for dev in ruled:
        spec = specs[profiles[dev]]
        readings = by_dev.get(dev)
        if not readings:
            continue
        readings.sort()
        ctx = context.get(dev, {})
        for comp in _rules_of(spec):
            st = states.get((dev, comp.rule.key), (None, 0))
            new = _run_rule(session, spec, comp, dev, st, readings, ctx, active, fires)
            if new is not None:
                changed.append((dev, comp.rule.key, new[0], new[1], new[2], "{}"))
    fires.flush()
    _save_states(session, changed)


def _load_states(session: Session, devs: list[int]) -> dict[tuple[int, str], tuple]:
    out: dict[tuple[int, str], tuple] = {}
    for i in range(0, len(devs), 900):
        chunk = ",".join(str(int(d)) for d in devs[i:i + 900])
        for d, key, since, count in session.execute(text(
                f"SELECT device_id, rule_key, since_ms, count FROM iot_rule_state WHERE device_id IN ({chunk})")).all():
            out[(d, key)] = (since, count)
    return out


def _save_states(session: Session, changed: list[tuple]) -> None:
    if not changed:
        return
    changed.sort(key=lambda r: (r[0], r[1]))
    if is_postgres(session):
        cols = [list(c) for c in zip(*changed, strict=True)]
        session.connection().exec_driver_sql(
            "INSERT INTO iot_rule_state (device_id, rule_key, since_ms, count, last_ts, prev) "
            "SELECT * FROM unnest(%b::int4[], %b::varchar[], %b::int8[], %b::int4[], %b::int8[], %b::text[]) "
            "ON CONFLICT (device_id, rule_key) DO UPDATE SET since_ms = excluded.since_ms, count = excluded.count, "
            "last_ts = excluded.last_ts, prev = excluded.prev", tuple(cols))
    else:
        session.connection().exec_driver_sql(
            "INSERT INTO iot_rule_state (device_id, rule_key, since_ms, count, last_ts, prev) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (device_id, rule_key) DO UPDATE SET since_ms = excluded.since_ms, count = excluded.count, "
            "last_ts = excluded.last_ts, prev = excluded.prev", changed)


def _run_rule(session: Session, spec: ProfileSpec, comp: _Compiled, dev: int, st: tuple,
              readings: list[tuple[int, str, float]], ctx: dict[str, list], active: dict[tuple[int, str], Alarm],
              fires: _Fires) -> tuple | None:
    """Advance one rule over a device's new readings. Returns (since, count, last_ts) when the stored
    state must change, else None (most readings change nothing: no write)."""
    since0, count0 = st
    since, count = since0, count0
    wanted = comp.wanted
    rel = [r for r in readings if r[1] in wanted]
    if not rel:
        return None
    cur: dict[str, list] = dict(ctx) if comp.keep_prev else {}  # q -> [ts, value, rate]
    rule = comp.rule
    key = (dev, rule.key)
    i, n = 0, len(rel)
    ts = rel[0][0]
    while i < n:
        ts = rel[i][0]
        while i < n and rel[i][0] == ts:
            _, q, v = rel[i]
            prev = cur.get(q)
            rate = (v - prev[1]) / ((ts - prev[0]) / 60000.0) if prev is not None and ts > prev[0] else None
            cur[q] = [ts, v, rate]
            i += 1
        if _eval(comp.conds, comp.any_, cur):
            if count < comp.repeat:  # beyond the repeat threshold the count no longer matters (no write)
                count += 1
            if since is None:
                since = ts
            if count >= comp.repeat and ts - since >= comp.duration_ms:
                alarm = active.get(key)
                if alarm is not None:  # a repeat extends the active alarm
                    fires.repeat(alarm, ts, dict(cur))
                else:
                    _fire(session, spec, rule, dev, ts, cur, active)
        else:
            count, since = 0, None
            alarm = active.get(key)
            if alarm is not None and (_eval(comp.clear_conds, comp.clear_any, cur) if comp.clear_conds else True):
                fires.flush(alarm)
                _clear(alarm, "condition", "system", ms_to_dt(ts))
                del active[key]
    if (since, count) == (since0, count0):
        return None
    return since, count, ts


def _active_alarms(session: Session, dev_ids: list[int]) -> dict[tuple[int, str], Alarm]:
    if not dev_ids:
        return {}
    out: dict[tuple[int, str], Alarm] = {}
    for i in range(0, len(dev_ids), 900):
        rows = session.execute(select(Alarm).where(Alarm.active_key.is_not(None),
                                                   Alarm.device_id.in_(dev_ids[i:i + 900]))).scalars().all()
        out.update({(a.device_id, a.type): a for a in rows})
    return out


def _fire(session: Session, spec: ProfileSpec, rule: Rule, dev: int, ts: int, cur: dict[str, list],
          active: dict[tuple[int, str], Alarm]) -> Alarm:
    when = ms_to_dt(ts)
    values = {q: v[1] for q, v in cur.items()}
    alarm = active.get((dev, rule.key))
    if alarm is not None:  # a repeat extends the active alarm
        alarm.repeat_count += 1
        alarm.last_at = max(alarm.last_at, when)
        alarm.detail = {**(alarm.detail or {}), "values": values}
        return alarm
    wants_order = spec.order_severity is not None and SEVERITY_RANK[rule.severity] >= SEVERITY_RANK[spec.order_severity]
    alarm = Alarm(device_id=dev, type=rule.key, name=rule.name, severity=rule.severity, status="ACTIVE_UNACK",
                  active_key=f"{dev}:{rule.key}", started_at=when, last_at=when, repeat_count=1,
                  detail={"values": values, "rule": _rule_text(rule, spec.quantities)},
                  order_state="pending" if wants_order else "none")
    session.add(alarm)
    session.flush()
    active[(dev, rule.key)] = alarm
    return alarm


OP_TEXT = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}


def _rule_text(rule: Rule, quantities: dict[str, Any] | None = None) -> str:
    """A rule as people read it: 叶绿素a > 40 μg/L 且 水温 ≥ 25℃，持续 30 分钟 (names and units, not codes)."""
    if rule.kind == "offline":
        return f"超过 {rule.offline_factor:g} 倍上报周期无数据"
    joiner = " 且 " if rule.logic == "AND" else " 或 "
    quantities = quantities or {}

    def part(c: Any) -> str:
        q = quantities.get(c.quantity)
        label = q.label if q is not None else c.quantity
        if c.rate:
            return f"{label}变化率（每分钟）{OP_TEXT.get(c.op, c.op)} {c.value:g}"
        value = quantity_text(c.value, q.unit if q else None, q.states if q else None)
        return f"{label} {OP_TEXT.get(c.op, c.op)} {value}"

    parts = [part(c) for c in rule.conditions]
    text_ = joiner.join(parts)
    if rule.duration_s:
        text_ += f"，持续 {rule.duration_s // 60} 分钟" if rule.duration_s >= 60 else f"，持续 {rule.duration_s} 秒"
    if rule.repeat > 1:
        text_ += f"，连续 {rule.repeat} 次"
    return text_


def _clear(alarm: Alarm, reason: str, by: str, when: datetime | None = None) -> None:
    alarm.status = "CLEARED"
    alarm.active_key = None
    alarm.cleared_at = when or utcnow()
    alarm.clear_reason = reason
    alarm.cleared_by = by


# ---------------------------------------------------------------- periodic jobs

def check_offline(session: Session, now: int | None = None) -> dict[str, int]:
    """Devices silent for k × their expected interval go offline; offline rules raise alarms."""
    now = now if now is not None else now_ms()
    went, raised = 0, 0
    for p in session.execute(select(Profile)).scalars():
        spec = profile_spec(session, p.id)
        rules = [r for r in spec.rules if r.kind == "offline"]
        factor = min((r.offline_factor for r in rules), default=3.0)
        cutoff = now - int(factor * spec.interval_s * 1000)
        ids = list(session.execute(select(Device.id).where(
            Device.profile_id == p.id, Device.status == "active", Device.online.is_(True),
            Device.last_seen_ms < cutoff)).scalars())
        if not ids:
            continue
        session.execute(text("UPDATE iot_device SET online = :f WHERE id = :i"), [{"f": False, "i": i} for i in ids])
        went += len(ids)
        active = _active_alarms(session, ids)
        for rule in rules:
            rcut = now - int(rule.offline_factor * spec.interval_s * 1000)
            for dev, seen in session.execute(select(Device.id, Device.last_seen_ms).where(Device.id.in_(ids))):
                if seen is not None and seen < rcut and (dev, rule.key) not in active:
                    _fire(session, spec, rule, dev, now, {}, active)
                    raised += 1
    return {"offline": went, "alarms": raised}


def clear_silent(session: Session, now: int | None = None) -> int:
    """Clear active alarms whose rule says "clear after N seconds of silence" (no new trigger)."""
    now_dt = ms_to_dt(now if now is not None else now_ms())
    n = 0
    for p in session.execute(select(Profile)).scalars():
        spec = profile_spec(session, p.id)
        for rule in spec.rules:
            if not rule.clear_after_silence_s:
                continue
            cutoff = now_dt - timedelta(seconds=rule.clear_after_silence_s)
            for alarm in session.execute(select(Alarm).join(Device, Device.id == Alarm.device_id).where(
                    Device.profile_id == p.id, Alarm.type == rule.key, Alarm.active_key.is_not(None),
                    Alarm.last_at < cutoff)).scalars():
                _clear(alarm, "silence", "system", now_dt)
                n += 1
    return n


# ---------------------------------------------------------------- people: list, acknowledge, clear

def alarm_out(a: Alarm, d: Device) -> AlarmOut:
    return AlarmOut(id=a.id, device_id=a.device_id, device_code=d.code, device_name=d.name, type=a.type, name=a.name,
                    severity=a.severity, severity_label=SEVERITY_LABELS[a.severity], status=a.status,
                    status_label=STATUS_LABELS.get(a.status, a.status), started_at=a.started_at, last_at=a.last_at,
                    cleared_at=a.cleared_at, acked_at=a.acked_at, acked_by=a.acked_by, cleared_by=a.cleared_by,
                    clear_reason=a.clear_reason, repeat_count=a.repeat_count, detail=dict(a.detail or {}),
                    order_state=a.order_state, order_number=a.order_number)


def list_alarms(session: Session, *, status: str | None = "active", device_id: int | None = None,
                severity: str | None = None, limit: int = 200) -> list[AlarmOut]:
    stmt = select(Alarm, Device).join(Device, Device.id == Alarm.device_id)
    if status == "active":
        stmt = stmt.where(Alarm.active_key.is_not(None))
    elif status:
        stmt = stmt.where(Alarm.status == status)
    if device_id is not None:
        stmt = stmt.where(Alarm.device_id == device_id)
    if severity:
        stmt = stmt.where(Alarm.severity == severity)
    # the most severe first, then the newest: a page of eight shows 紧急 before 提示, whatever came last
    rank = case(SEVERITY_RANK, value=Alarm.severity, else_=0)
    rows = session.execute(stmt.order_by(Alarm.cleared_at.is_not(None), rank.desc(), Alarm.last_at.desc())
                           .limit(limit)).all()
    out = [alarm_out(a, d) for a, d in rows]
    return out


def alarm_counts(session: Session) -> dict[str, int]:
    rows = session.execute(text("SELECT severity, count(*) FROM iot_alarm WHERE active_key IS NOT NULL "
                                "GROUP BY severity")).all()
    out = {s: 0 for s in SEVERITY_LABELS}
    out.update({s: int(n) for s, n in rows})
    return out


def _get_alarm(session: Session, alarm_id: int) -> tuple[Alarm, Device]:
    a = session.get(Alarm, alarm_id)
    if a is None:
        raise NotFound(f"告警不存在：{alarm_id}", code="unknown_alarm")
    return a, session.get(Device, a.device_id)


def _check_alarm_scope(principal: Principal, device: Device) -> None:
    authorize(principal, "iot.alarm")
    if principal.role == "data_officer" and principal.org_code != device.org_code:
        raise PermissionDenied("只能处置本部门设备的告警", code="not_owner_department")


def acknowledge(session: Session, principal: Principal, alarm_id: int) -> AlarmOut:
    a, d = _get_alarm(session, alarm_id)
    _check_alarm_scope(principal, d)
    if a.status != "ACTIVE_UNACK":
        raise IllegalTransition(f"告警当前为“{STATUS_LABELS.get(a.status, a.status)}”，不能确认",
                                code="alarm_not_unacked", detail={"status": a.status})
    a.status, a.acked_at, a.acked_by = "ACTIVE_ACK", utcnow(), principal.username
    record(session, principal, "iot.alarm.ack", "iot_alarm", str(a.id), {"device": d.code, "type": a.type})
    return alarm_out(a, d)


def clear(session: Session, principal: Principal, alarm_id: int) -> AlarmOut:
    a, d = _get_alarm(session, alarm_id)
    _check_alarm_scope(principal, d)
    if a.status == "CLEARED":
        raise IllegalTransition("告警已清除", code="alarm_already_cleared")
    if a.acked_at is None:
        a.acked_at, a.acked_by = utcnow(), principal.username
    _clear(a, "manual", principal.username)
    record(session, principal, "iot.alarm.clear", "iot_alarm", str(a.id), {"device": d.code, "type": a.type})
    return alarm_out(a, d)


# ---------------------------------------------------------------- alarms ⇄ work orders (events module)

def sync_orders(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Open work orders for pending alarms and reflect closed orders on their alarms.

    Runs as a periodic job."""
    now = now or utcnow()
    opened = closed = failed = 0
    pending = session.execute(select(Alarm, Device, Profile).join(Device, Device.id == Alarm.device_id)
                              .join(Profile, Profile.id == Device.profile_id)
                              .where(Alarm.order_state == "pending").order_by(Alarm.id).limit(200)).all()
    for alarm, dev, prof in pending:
        spec = profile_spec(session, prof.id)
        rule = next((r for r in spec.rules if r.key == alarm.type), None)
        detail = dict(alarm.detail or {})
        vals = "，".join(f"{_label(spec, q)}={v:g}" for q, v in (detail.get("values") or {}).items()
                        if isinstance(v, int | float))
        desc = (f"物联感知告警：{prof.label}“{dev.name}”（编码 {dev.code}）触发“{alarm.name}”"
                f"（{SEVERITY_LABELS[alarm.severity]}）" + (f"，当前读数 {vals}" if vals else "") +
                (f"。规则：{detail.get('rule')}" if detail.get("rule") else "") + "。")
        data = IntakeIn(channel="sensor", description=desc[:3900], type_code=rule.order_type if rule else None,
                         lon=dev.lon, lat=dev.lat, address=(dev.address or dev.name)[:200],
                         external_id=f"alarm:{alarm.id}",
                         attributes={"device_code": dev.code, "alarm_id": alarm.id, "alarm_type": alarm.type,
                                     "severity": alarm.severity, "profile": prof.name})
        order = None
        for attempt in (data, data.model_copy(update={"type_code": None}) if data.type_code else None):
            if attempt is None:
                break
            try:
                with session.begin_nested():
                    order = events.intake(session, SYSTEM, attempt)
                break
            except Exception as exc:  # noqa: BLE001 - one failing order must not block the others
                log.warning("work order for alarm %s failed (type %s): %s", alarm.id, attempt.type_code, exc)
        if order is None:
            failed += 1
            continue
        alarm.order_number, alarm.order_state = order.number, "open"
        opened += 1
    since_text = job_get(session, "orders_closed_since")
    since = datetime.fromisoformat(since_text) if since_text else datetime(2000, 1, 1, tzinfo=UTC)
    for number, external_id, _status in events.orders_closed_since(session, since - timedelta(minutes=5)):
        if not external_id or not str(external_id).startswith("alarm:"):
            continue
        try:
            alarm = session.get(Alarm, int(str(external_id).split(":", 1)[1]))
        except ValueError:
            continue
        if alarm is None or alarm.order_state == "closed":
            continue
        alarm.order_state, alarm.order_number = "closed", alarm.order_number or number
        if alarm.active_key is not None:
            _clear(alarm, "order", f"order:{number}", now)
        closed += 1
    job_set(session, "orders_closed_since", now.isoformat())
    return {"events": True, "opened": opened, "closed": closed, "failed": failed}


def _label(spec: ProfileSpec, q: str) -> str:
    qs = spec.quantities.get(q)
    return f"{qs.label}" if qs else q
