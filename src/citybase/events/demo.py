"""Demo: problem types, unit accounts and a few thousand work orders over the last months, in every
state, placed inside the real districts (and grids, when the grid layer exists). Deterministic."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from citybase.core.calendar.service import calendar
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM
from citybase.core.time import utcnow
from citybase.db import make_session, session_scope
from citybase.events import service
from citybase.events.models import WorkOrder
from citybase.grid import service as grid

N_ORDERS = 4000
DAYS = 120
DEMO_TAG = "demo"
DEMO_UNIT_USERS = [  # (username, org code, display name)
    ("cgj_staff", "320205-cgj", "钱进（锡山区城管局）"),
    ("lx_cgj_staff", "320213-cgj", "吴刚（梁溪区城管局）"),
]
CHANNELS = [("hotline", 0.45), ("grid", 0.35), ("public", 0.1), ("api", 0.05), ("sensor", 0.05)]


def load(console: Any = None) -> None:
    with session_scope() as s:
        service.seed_problem_types(s, SYSTEM)
        orgs = service.org_names(s)
        for username, org, name in DEMO_UNIT_USERS:
            if org in orgs and not _user_exists(s, username):
                identity.create_user(s, SYSTEM, username=username, org_code=org, role="staff",
                                     password="citybase2026", display_name=name)
    with make_session() as s:
        have = s.execute(select(func.count()).select_from(WorkOrder).where(WorkOrder.created_by == DEMO_TAG)).scalar_one()
    if have:
        return
    with session_scope() as s:
        orders, events = generate(s, N_ORDERS, seed=2026)
        service.import_history(s, SYSTEM, orders, events)
    if console is not None:
        console.print(f"  一网统管：已生成 {len(orders)} 件演示工单")


def _user_exists(session: Any, username: str) -> bool:
    try:
        identity.get_user(session, username)
    except Exception:  # noqa: BLE001 - NotFound
        return False
    return True


def _texts() -> dict[str, list[str]]:
    path = Path(__file__).parent / "data" / "training.jsonl"
    out: dict[str, list[str]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.setdefault(row["type"], []).append(row["text"])
    return out


def _points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Random points inside the districts, weighted by population, denser near each district centre."""
    import shapely

    from citybase.reference import divisions

    bounds = divisions.district_boundaries()
    pop = divisions.city_profile().population
    codes = list(bounds)
    w = np.array([pop.get(c, 500000) for c in codes], dtype=float)
    pick = rng.choice(len(codes), size=n, p=w / w.sum())
    lons, lats = np.zeros(n), np.zeros(n)
    for k, code in enumerate(codes):
        idx = np.flatnonzero(pick == k)
        if not len(idx):
            continue
        geom = bounds[code]
        cx, cy = geom.representative_point().x, geom.representative_point().y
        minx, miny, maxx, maxy = geom.bounds
        got: list[tuple[float, float]] = []
        while len(got) < len(idx):
            m = (len(idx) - len(got)) * 3
            xs = np.where(rng.random(m) < 0.5, rng.normal(cx, (maxx - minx) / 8, m), rng.uniform(minx, maxx, m))
            ys = np.where(rng.random(m) < 0.5, rng.normal(cy, (maxy - miny) / 8, m), rng.uniform(miny, maxy, m))
            inside = shapely.contains_xy(geom, xs, ys)
            got += list(zip(xs[inside], ys[inside], strict=True))
        lons[idx] = [p[0] for p in got[: len(idx)]]
        lats[idx] = [p[1] for p in got[: len(idx)]]
    return lons.round(6), lats.round(6), [codes[i] for i in pick]


def _grids(session: Any, lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
    codes = grid.locate_many(session, lons, lats)
    return [str(c) if c else None for c in codes]


def generate(session: Any, n: int, seed: int = 2026, now: datetime | None = None,
             days: int = DAYS) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """n orders with consistent histories (WorkOrder column values and timeline rows)."""
    from citybase.reference import divisions

    now = now or utcnow()
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    cal = calendar(session)
    types = [t for t in service.list_problem_types(session)]
    if not types:
        return [], []
    texts = _texts()
    orgs = service.org_names(session)
    streets_by_district: dict[str, list[str]] = {}
    try:
        for st in divisions.streets():
            if st.code in orgs:
                streets_by_district.setdefault(st.district_code, []).append(st.code)
    except Exception:  # noqa: BLE001 - street names need the npm package
        pass
    lons, lats, districts = _points(rng, n)
    grids = _grids(session, lons, lats)
    weights = np.array([3.0 if t.kind == "事件" else (1.0 if t.kind == "部件" else 2.0) for t in types])
    type_idx = rng.choice(len(types), size=n, p=weights / weights.sum())
    n_recent = n // 12  # a busy last day and a half keeps the boards alive
    ages = np.sort(np.concatenate([rng.uniform(0, days, n - n_recent), rng.uniform(0, 1.5, n_recent)]))[::-1]
    orders, events = [], []
    unit_cache: dict[tuple[str, str], str | None] = {}
    for i in range(n):
        t = types[type_idx[i]]
        received = now - timedelta(days=float(ages[i]))
        local_hour = rnd.choice([8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17, 19, 21])
        if ages[i] > 1.5:  # older orders arrive in office and evening hours
            received = received.replace(hour=(local_hour - 8) % 24, minute=rnd.randrange(60))
        grid_code = grids[i]
        district = districts[i]
        street = grid_code[:9] if grid_code else (rnd.choice(streets_by_district[district])
                                                  if streets_by_district.get(district) else None)
        channel = rnd.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        desc = rnd.choice(texts.get(t.code) or [f"{t.name}问题，请尽快处理"])
        sla = service.sla_of(t)
        key = (t.code, district)
        if key not in unit_cache:
            probe = WorkOrder(type_code=t.code, district_code=district, street_code=street, grid_code=grid_code)
            unit_cache[key] = service.resolve_units(session, probe)[0]
        unit = unit_cache[key]
        o: dict[str, Any] = dict(
            channel=channel, status=service.RECEIVED, type_code=t.code, type_name=t.name, kind=t.kind,
            suggested_type=t.code, suggested_confidence=round(0.55 + 0.4 * rnd.random(), 3), description=desc,
            address="", lon=float(lons[i]), lat=float(lats[i]), grid_code=grid_code,
            community_code=grid_code[:12] if grid_code else None, street_code=street, district_code=district,
            reporter_name=rnd.choice(["张", "王", "李", "赵", "陈", "刘", "周", "吴"]) + rnd.choice(["先生", "女士", "伟", "芳", "强"])
            if channel == "hotline" else "",
            reporter_phone=f"1{rnd.choice([3, 5, 8, 9])}{rnd.randrange(10**9):09d}" if channel in ("hotline", "public") else "",
            external_id=f"alarm:demo-{i}" if channel == "sensor" else None, attributes={}, master_number=None,
            main_unit=None, assist_units=[], sla=sla, reply="", received_at=received, updated_at=received,
            overdue=False, return_count=0, rework_count=0, reopen_count=0, callback_tries=0, urge_count=0,
            escalation_level=0, timer_round=0, created_by=DEMO_TAG)
        ev = [dict(ts=received, actor="operator" if channel == "hotline" else DEMO_TAG, action="intake",
                   from_status=None, to_status=service.RECEIVED, note=service.CHANNEL_LABELS[channel] + "受理")]
        _advance(o, ev, rnd, cal, now, unit)
        orders.append(o)
        events.append(ev)
    return orders, events


def _step(o: dict[str, Any], ev: list[dict[str, Any]], ts: datetime, action: str, to: str, actor: str,
          note: str = "") -> None:
    ev.append(dict(ts=ts, actor=actor, action=action, from_status=o["status"], to_status=to, note=note))
    o["status"], o["updated_at"] = to, ts


def _advance(o: dict[str, Any], ev: list[dict[str, Any]], rnd: random.Random, cal: Any, now: datetime,
             unit: str | None) -> None:
    """Walk the order through the flow as far as its age allows, with realistic delays and outcomes."""
    t = o["received_at"]
    age_h = (now - t).total_seconds() / 3600
    roll = rnd.random()
    if roll < 0.04:
        return _step(o, ev, t + timedelta(minutes=20), "reject", service.REJECTED, "operator", "非本市管辖范围") \
            if age_h > 1 else None
    if roll < 0.07 and o["kind"] == "12345":
        _step(o, ev, t + timedelta(minutes=8), "answer", service.ANSWERED, "operator", "已当场答复")
        o["closed_at"], o["closed_on_time"], o["reply"] = t + timedelta(minutes=8), True, "已当场答复"
        return None
    if age_h < 0.3 or unit is None or (age_h < 4 and rnd.random() < 0.35):
        return None  # still waiting at the operations centre
    t = t + timedelta(minutes=rnd.randrange(5, 40))
    _step(o, ev, t, "triage", service.TRIAGED, "operator", f"问题类型：{o['type_name']}")
    if age_h < 4 and rnd.random() < 0.3:
        return None  # classified, waiting for dispatch
    sla = o["sla"]
    unit_kind, sign_in, handle = sla["unit"], float(sla["sign_in"]), float(sla["handle"])
    o["main_unit"], o["dispatched_at"] = unit, t
    o["sign_due_at"] = service.deadline(None, t, unit_kind, sign_in, cal)
    o["handle_due_at"] = service.deadline(None, t, unit_kind, handle, cal)
    _step(o, ev, t, "dispatch", service.DISPATCHED, "operator", "按派单目录派单")
    if rnd.random() < 0.05 and age_h > 3:  # returned once, then re-dispatched
        _step(o, ev, t + timedelta(minutes=30), "return", service.TRIAGED, "unit", "不属于本单位职责")
        o["return_count"] = 1
        t = t + timedelta(minutes=50)
        _step(o, ev, t, "dispatch", service.DISPATCHED, "operator", "改派")
    sign_at = t + (o["sign_due_at"] - t) * (rnd.random() * (1.3 if rnd.random() < 0.1 else 0.8))
    if sign_at > now:
        o["overdue"] = o["handle_due_at"] < now
        return None
    o["signed_at"], o["signed_on_time"] = sign_at, sign_at <= o["sign_due_at"]
    _step(o, ev, sign_at, "sign", service.SIGNED, "unit")
    _step(o, ev, sign_at + timedelta(minutes=5), "start", service.IN_PROGRESS, "unit")
    if age_h < 240 and rnd.random() < 0.08 and o["handle_due_at"] < now:  # stuck past the deadline
        o["overdue"], o["urge_count"] = True, 1
        ev.append(dict(ts=o["handle_due_at"], actor="system", action="overdue", from_status=service.IN_PROGRESS,
                       to_status=service.IN_PROGRESS, note="已超过办理时限"))
        urge = cal.add_workdays(o["handle_due_at"], 1)
        if urge < now:
            ev.append(dict(ts=urge, actor="system", action="urge", from_status=service.IN_PROGRESS,
                           to_status=service.IN_PROGRESS, note="超期次日自动催办"))
        sup = cal.add_workdays(o["handle_due_at"], 5)
        if sup < now:
            o["escalation_level"] = 1
            ev.append(dict(ts=sup, actor="system", action="supervise", from_status=service.IN_PROGRESS,
                           to_status=service.IN_PROGRESS, note="超期未办结，升级至区级督办"))
        return None
    late = rnd.random() < 0.12
    span = (o["handle_due_at"] - t)
    feedback_at = t + span * (1.0 + rnd.random() * 0.8 if late else 0.2 + rnd.random() * 0.75)
    if feedback_at > now:
        if rnd.random() < 0.03:
            _step(o, ev, sign_at + timedelta(hours=1), "suspend", service.SUSPENDED, "operator", "需上级协调")
            o["suspended_at"] = sign_at + timedelta(hours=1)
        o["overdue"] = o["handle_due_at"] < now
        if o["overdue"]:
            ev.append(dict(ts=o["handle_due_at"], actor="system", action="overdue", from_status=o["status"],
                           to_status=o["status"], note="已超过办理时限"))
        return None
    if late:
        o["overdue"] = True
        ev.append(dict(ts=o["handle_due_at"], actor="system", action="overdue", from_status=service.IN_PROGRESS,
                       to_status=service.IN_PROGRESS, note="已超过办理时限"))
    o["feedback_at"], o["reply"] = feedback_at, "已按要求处置完毕"
    _step(o, ev, feedback_at, "feedback", service.VERIFYING, "unit", "已按要求处置完毕")
    v_at = feedback_at + timedelta(hours=rnd.uniform(0.5, 6))
    if v_at > now:
        return None
    if rnd.random() < 0.08:
        o["rework_count"] = 1
        _step(o, ev, v_at, "verify_rework", service.IN_PROGRESS, "grid_worker", "现场仍有残留，返工")
        feedback_at = v_at + timedelta(hours=rnd.uniform(1, 8))
        if feedback_at > now:
            return None
        o["feedback_at"] = feedback_at
        _step(o, ev, feedback_at, "feedback", service.VERIFYING, "unit", "返工完成")
        v_at = feedback_at + timedelta(hours=rnd.uniform(0.5, 4))
        if v_at > now:
            return None
    _step(o, ev, v_at, "verify_pass", service.CALLBACK, "grid_worker", "现场核查通过")
    c_at = v_at + timedelta(hours=rnd.uniform(2, 30))
    if c_at > now:
        return None
    r = rnd.random()
    if r < 0.07:
        o["satisfaction"], o["reopen_count"] = "unsatisfied", 1
        _step(o, ev, c_at, "callback_unsatisfied", service.REOPENED, "operator", "市民不满意，重办")
        again = c_at + timedelta(hours=rnd.uniform(0.5, 3))
        if again > now:
            return None
        _step(o, ev, again, "dispatch", service.DISPATCHED, "operator", "重办派单")
        o["dispatched_at"] = again
        done = again + timedelta(hours=rnd.uniform(4, 40))
        if done > now:
            o["status"] = service.IN_PROGRESS
            o["handle_due_at"] = service.deadline(None, again, sla["unit"], float(sla["handle"]), cal)
            o["sign_due_at"] = service.deadline(None, again, sla["unit"], float(sla["sign_in"]), cal)
            return None
        _step(o, ev, done, "feedback", service.VERIFYING, "unit", "重新处置完毕")
        _step(o, ev, done + timedelta(hours=2), "verify_pass", service.CALLBACK, "grid_worker", "现场核查通过")
        c_at = done + timedelta(hours=20)
        if c_at > now:
            return None
        o["feedback_at"] = done
        r = 0.5
    result = "unreachable" if r < 0.12 else "satisfied"
    o["satisfaction"] = result
    _step(o, ev, c_at, f"callback_{result}", service.CLOSED, "operator",
          "回访满意" if result == "satisfied" else "三次回访未接通，按规定办结")
    o["closed_at"] = c_at
    o["closed_on_time"] = not o["overdue"] and o["feedback_at"] <= o["handle_due_at"]
    o["handle_seconds"] = int((o["feedback_at"] - o["dispatched_at"]).total_seconds())
    if (now - c_at).days > 20:
        _step(o, ev, c_at + timedelta(days=7), "archive", service.ARCHIVED, "operator")
        o["archived_at"] = c_at + timedelta(days=7)
    return None
