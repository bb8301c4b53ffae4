"""一网统管: problem types, the dispatch catalogue, the work-order flow, timers, intake, figures.

Every state change is ``fn(session, principal, number, ...)``: it checks the role, moves the
order, writes the order's timeline and the audit ledger in the caller's transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, cast, func, insert, or_, select, update
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.errors import (
    BadInput,
    CitybaseError,
    Conflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    TooLarge,
)
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.db import clear_now_and_after_commit, insert_many, reserve_ids, utcnow
from citybase.events.models import DispatchRule, OrderEvent, OrderPhoto, ProblemType, Timer, WorkOrder
from citybase.events.schemas import EventOut, IntakeIn, OrderOut, PhotoIn, ProblemTypeIn
from citybase.reference import divisions
from citybase.reference.workcal import RememberingCalendar

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- states

RECEIVED, REJECTED, MERGED, ANSWERED = "received", "rejected", "merged", "answered"
TRIAGED, DISPATCHED, SIGNED, IN_PROGRESS = "triaged", "dispatched", "signed", "in_progress"
SUSPENDED, VERIFYING, CALLBACK, REOPENED = "suspended", "verifying", "callback", "reopened"
CLOSED, ARCHIVED = "closed", "archived"

STATUS_LABELS: dict[str, str] = {
    RECEIVED: "受理", REJECTED: "不予受理", MERGED: "并单", ANSWERED: "即时办结", TRIAGED: "待派单",
    DISPATCHED: "已派单", SIGNED: "已签收", IN_PROGRESS: "办理中", SUSPENDED: "挂账",
    VERIFYING: "核查", CALLBACK: "回访", REOPENED: "重办", CLOSED: "办结", ARCHIVED: "归档",
}
FINISHED = {REJECTED, MERGED, ANSWERED, CLOSED, ARCHIVED}
HANDLING = {DISPATCHED, SIGNED, IN_PROGRESS}
CHANNEL_LABELS = {"hotline": "12345热线", "grid": "网格员上报", "public": "随手拍", "api": "系统对接",
                  "open311": "Open311", "sensor": "物联感知", "superior": "上级交办"}
ACTION_LABELS = {
    "intake": "受理登记", "reject": "不予受理", "merge": "并单", "answer": "即时办结", "triage": "待派单",
    "dispatch": "派单", "sign": "签收", "return": "退单", "start": "开始办理", "extension_request": "申请延期",
    "extension_approve": "批准延期", "extension_deny": "驳回延期", "suspend": "挂账", "resume": "恢复办理",
    "feedback": "处理反馈", "verify_pass": "核查通过", "verify_rework": "核查返工", "callback_satisfied": "回访满意",
    "callback_unsatisfied": "回访不满意", "callback_unreachable": "回访未接通", "close": "办结",
    "reopen": "重办", "archive": "归档", "reveal_phone": "查看来电号码",
    "sign_overdue": "签收超时", "warn": "临期预警", "overdue": "办理超期", "urge": "催办", "supervise": "督办",
}
LEVEL_LABELS = {"street": "街道", "district": "区", "city": "市"}
CALLBACK_MAX_TRIES = 3
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_HOURS = 24
MACHINE_CHANNELS = {"api", "sensor", "open311"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
                 "GIF": ("image/gif", "gif")}
WORKDAY_HOURS = 7.0


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def is_open(status: str) -> bool:
    return status not in FINISHED


# ---------------------------------------------------------------- masking

def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * 3 + phone[-4:]
    return "*" * len(phone)


# ---------------------------------------------------------------- problem types

def builtin_problem_types() -> list[dict[str, Any]]:
    """The shipped list (written with the classifier); empty when it is not there yet."""
    try:
        from citybase.events import classifier

        return list(classifier.problem_types())
    except ImportError:
        path = Path(__file__).parent / "data" / "problem_types.json"
        if path.exists():
            doc = json.loads(path.read_text(encoding="utf-8"))
            return list(doc["types"] if isinstance(doc, dict) else doc)
        return []


def _type_row(item: dict[str, Any]) -> ProblemType:
    sla = item.get("sla", {})
    return ProblemType(
        code=item["code"], name=item["name"], kind=item.get("kind", "事件"),
        major_code=str(item.get("major_code", "")), major_name=item.get("major_name", ""),
        minor_name=item.get("minor_name", item["name"]), sla_unit=sla.get("unit", item.get("sla_unit", "work_hours")),
        sign_in=float(sla.get("sign_in", item.get("sign_in", 1))), handle=float(sla.get("handle", item.get("handle", 8))),
        warn_ratio=float(sla.get("warn_ratio", item.get("warn_ratio", 0.8))),
        escalation=list(sla.get("escalation", item.get("escalation", ["street", "district", "city"]))),
        default_unit_key=item.get("default_unit_key", ""), active=True, updated_at=utcnow())


def seed_problem_types(session: Session, principal: Principal, items: list[dict[str, Any]] | None = None) -> int:
    """Insert the problem types that are not in the table yet (existing rows keep admin edits)."""
    authorize(principal, "events.admin")
    items = builtin_problem_types() if items is None else items
    have = set(session.execute(select(ProblemType.code)).scalars())
    added = 0
    for item in items:
        if item["code"] not in have:
            session.add(_type_row(item))
            have.add(item["code"])
            added += 1
    if added:
        session.flush()
        _forget_reference(session)
        audit.record(session, principal, "events.types_seed", "problem_type", "*", {"added": added})
    return added


def list_problem_types(session: Session, active_only: bool = True) -> list[ProblemType]:
    stmt = select(ProblemType).order_by(ProblemType.kind, ProblemType.major_code, ProblemType.code)
    if active_only:
        stmt = stmt.where(ProblemType.active.is_(True))
    return list(session.execute(stmt).scalars())


def get_problem_type(session: Session, code: str) -> ProblemType:
    row = session.get(ProblemType, code)
    if row is None or not row.active:
        raise BadInput(f"未知的问题类型：{code}", code="unknown_type", detail={"type_code": code})
    return row


def save_problem_type(session: Session, principal: Principal, data: ProblemTypeIn) -> ProblemType:
    """Create or edit a type and its SLA. Orders already received keep the SLA they snapshotted."""
    authorize(principal, "events.admin")
    for step in data.escalation:
        if step not in LEVEL_LABELS:
            raise BadInput("升级层级只能是 street/district/city", code="bad_escalation")
    row = session.get(ProblemType, data.code)
    before = None
    if row is None:
        row = ProblemType(code=data.code)
        session.add(row)
    else:
        before = sla_of(row)
    for k, v in data.model_dump().items():
        setattr(row, k, v)
    row.active = True
    row.updated_at = utcnow()
    session.flush()
    _forget_reference(session)
    audit.record(session, principal, "events.type_save", "problem_type", data.code,
                 {"before": before, "after": sla_of(row), "name": row.name})
    return row


def sla_of(t: ProblemType) -> dict[str, Any]:
    return {"unit": t.sla_unit, "sign_in": t.sign_in, "handle": t.handle, "warn_ratio": t.warn_ratio,
            "escalation": list(t.escalation or ["street", "district", "city"])}


def sla_text(sla: dict[str, Any]) -> str:
    if not sla:
        return ""
    unit = "个工作日" if sla.get("unit") == "work_days" else "个工作小时"
    return f"签收 {sla.get('sign_in'):g}{unit}，办理 {sla.get('handle'):g}{unit}"


# ---------------------------------------------------------------- dispatch catalogue

def add_dispatch_rule(session: Session, principal: Principal, *, type_code: str | None, area_code: str | None,
                      main_unit: str, assist_units: list[str] | None = None, note: str = "") -> DispatchRule:
    authorize(principal, "events.admin")
    if type_code:
        get_problem_type(session, type_code)
    assist_units = [u.strip() for u in assist_units or [] if u.strip()]
    if not main_unit.strip():
        raise BadInput("必须指定主办单位", code="missing_unit")
    for unit in [main_unit, *assist_units]:
        if "{" not in unit:
            _org_or_error(session, unit)
    rule = DispatchRule(type_code=type_code or None, area_code=area_code or None, main_unit=main_unit.strip(),
                        assist_units=[u.strip() for u in assist_units or [] if u.strip()], note=note[:200])
    session.add(rule)
    session.flush()
    _forget_reference(session)
    audit.record(session, principal, "events.rule_add", "dispatch_rule", rule.id,
                 {"type_code": type_code, "area_code": area_code, "main_unit": main_unit,
                  "assist_units": rule.assist_units})
    return rule


def delete_dispatch_rule(session: Session, principal: Principal, rule_id: int) -> None:
    authorize(principal, "events.admin")
    rule = session.get(DispatchRule, rule_id)
    if rule is None:
        raise NotFound("派单规则不存在", code="unknown_rule")
    session.delete(rule)
    _forget_reference(session)
    audit.record(session, principal, "events.rule_delete", "dispatch_rule", rule_id, {})


def list_dispatch_rules(session: Session) -> list[DispatchRule]:
    return list(session.execute(select(DispatchRule).order_by(DispatchRule.type_code, DispatchRule.area_code)).scalars())


_ORG_CACHE: dict[str, tuple[float, dict[str, str]]] = {}


def org_names(session: Session) -> dict[str, str]:
    """code → name of every organisation (cached for a minute per database)."""
    key = get_settings().db_url
    hit = _ORG_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < 60:
        return hit[1]
    names = {o.code: o.name for o in identity.all_orgs(session)}
    _ORG_CACHE[key] = (time.monotonic(), names)
    return names


def _org_or_error(session: Session, code: str) -> str:
    if code not in org_names(session):
        _ORG_CACHE.clear()
        if code not in org_names(session):
            raise BadInput(f"单位不存在：{code}", code="unknown_unit", detail={"unit": code})
    return code


def _expand(unit: str, order: OrderRow) -> str | None:
    if "{district}" in unit and not order.district_code:
        return None
    if "{street}" in unit and not order.street_code:
        return None
    return unit.replace("{district}", order.district_code or "").replace("{street}", order.street_code or "")


def resolve_units(session: Session, order: OrderRow, type_code: str | None = None,
                  ref: _Reference | None = None) -> tuple[str | None, list[str]]:
    """主办 and 协办 units: the most specific catalogue rule, else 属地 (district department, street, district).
    ``ref``: reference data already loaded for a batch of intakes."""
    orgs = org_names(session)
    code = type_code or order.type_code
    area = order.grid_code or order.street_code or order.district_code or ""
    if ref is not None:
        rules = [r for r in ref.rules if r.type_code == code or r.type_code is None]
    else:
        rules = list(session.execute(select(DispatchRule).where(
            or_(DispatchRule.type_code == code, DispatchRule.type_code.is_(None)))).scalars())
    best: tuple[int, DispatchRule] | None = None
    for r in rules:
        if r.area_code and not area.startswith(r.area_code):
            continue
        score = (len(r.area_code or "") * 2) + (1 if r.type_code else 0)
        if best is None or score > best[0]:
            best = (score, r)
    if best is not None:
        main = _expand(best[1].main_unit, order)
        if main and main in orgs:
            assists = [a for a in (_expand(u, order) for u in best[1].assist_units) if a and a in orgs]
            return main, assists
    ptype = (ref.types.get(code) if ref is not None else session.get(ProblemType, code)) if code else None
    key = ptype.default_unit_key if ptype else ""
    candidates = []
    if key and order.district_code:
        candidates.append(f"{order.district_code}-{key}")
    candidates += [order.street_code, order.district_code]
    if key:
        candidates.append(f"{get_settings().city_code}-{key}")
    for c in candidates:
        if c and c in orgs:
            return c, []
    return None, []


# ---------------------------------------------------------------- location

@dataclass
class Place:
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    district_code: str | None = None
    label: str = ""
    lon: float | None = None  # set when the place was found from an address
    lat: float | None = None


def locate(session: Session, lon: float | None, lat: float | None, address: str | None = None,
           grid: Any = None) -> Place:
    """Point → grid, community, street, district (via the grid module), else district by boundary;
    address text → street/district by name. BadInput when the point lies outside the city.
    ``grid``: a locator from :func:`grid_locator`, for many points in a row."""
    if lon is not None and lat is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BadInput("经纬度超出范围", code="bad_point", detail={"lon": lon, "lat": lat})
        hit = grid(lon, lat) if grid is not None else _grid_locate(session, lon, lat)
        if hit is not None:
            return Place(hit.grid_code, hit.community_code, hit.street_code, hit.district_code,
                         f"{hit.district_name}{hit.street_name}{hit.grid_name}")
        district = divisions.locate_district(lon, lat, get_settings().city_code)
        if district is None:
            raise BadInput("该位置不在本市范围内", code="outside_city", detail={"lon": lon, "lat": lat})
        place = Place(district_code=district, label=divisions.division_name(district) or "")
        if address:  # no grids here: the street named in the address, if it lies in that district
            named = _geocode_text(address)
            if named.street_code and named.district_code == district:
                place.street_code = named.street_code
        return place
    if address:
        found = _standard_address(session, address)
        if found is not None:  # a standard address with coordinates: the point decides the grid
            with contextlib.suppress(BadInput):  # a library point outside the city: names decide
                place = locate(session, found["lon"], found["lat"], grid=grid)
                place.lon, place.lat, place.label = found["lon"], found["lat"], found["address"]
                return place
        return _geocode_text(address)
    return Place()


def _standard_address(session: Session, address: str) -> dict[str, Any] | None:
    """The standard address named in the text (自然资源和空间地理基础库), if that library is built."""
    try:
        from citybase.baselib import service as baselib

        return baselib.geocode(session, address)
    except Exception:  # noqa: BLE001 - address help must never stop intake; names still match below
        log.warning("standard-address lookup failed", exc_info=True)
        return None


def grid_locator(session: Session, max_age: float = 0.0) -> Any:
    """The grid module's point locator (layer read once), or one that finds nothing without it."""
    try:
        from citybase.grid import service as grid
    except ImportError:
        return lambda _lon, _lat: None
    return grid.locator(session, max_age)


def _grid_locate(session: Session, lon: float, lat: float) -> Any:
    try:
        from citybase.grid import service as grid
    except ImportError:
        return None
    return grid.locate(session, lon, lat)


def _geocode_text(address: str) -> Place:
    city = get_settings().city_code
    place = Place()
    for d in divisions.city_profile(city).districts:
        if d.name in address or (len(d.name) > 2 and d.name[:-1] in address):
            place.district_code = d.code
    try:
        streets = divisions.streets(city)
    except Exception:  # noqa: BLE001 - street names need the npm package; districts still work
        streets = []
    for st in streets:
        if st.name in address and (place.district_code in (None, st.district_code)):
            place.street_code, place.district_code = st.code, st.district_code
            break
    return place


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = rlat2 - rlat1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def find_duplicates(session: Session, type_code: str | None, lon: float | None, lat: float | None,
                    at: datetime | None = None, exclude: str | None = None) -> list[WorkOrder]:
    """Orders of the same type within 50 m and 24 h (candidates for 并单), nearest first."""
    if not type_code or lon is None or lat is None:
        return []
    at = at or utcnow()
    dlat = DUPLICATE_RADIUS_M / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    rows = session.execute(select(WorkOrder).where(
        WorkOrder.type_code == type_code, WorkOrder.received_at >= at - timedelta(hours=DUPLICATE_HOURS),
        WorkOrder.received_at <= at + timedelta(minutes=1),
        WorkOrder.lon.between(lon - dlon, lon + dlon), WorkOrder.lat.between(lat - dlat, lat + dlat),
        WorkOrder.status.not_in([REJECTED, MERGED]))).scalars().all()
    near = [(round(_distance_m(lon, lat, r.lon, r.lat), 1), r) for r in rows
            if r.number != exclude and _distance_m(lon, lat, r.lon, r.lat) <= DUPLICATE_RADIUS_M]
    return [r for _, r in sorted(near, key=lambda x: (x[0], x[1].id))]


# ---------------------------------------------------------------- classification

def suggest_types(text: str, top: int = 3) -> list[tuple[str, float]]:
    try:
        from citybase.events import classifier

        return list(classifier.classify(text, top=top))
    except Exception as exc:  # noqa: BLE001 - a broken model must never stop intake; the operator classifies
        log.warning("classifier failed (%s); intake continues without a suggestion", exc)
        return []


# ---------------------------------------------------------------- photos

def check_photo(content: bytes) -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of a real image; TooLarge/BadInput otherwise."""
    if len(content) > MAX_PHOTO_BYTES:
        raise TooLarge(f"照片不能超过 {MAX_PHOTO_BYTES // 1024 // 1024} MB", code="photo_too_large",
                       detail={"size": len(content), "limit": MAX_PHOTO_BYTES})
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt, (w, h) = img.format, img.size
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput("上传的文件不是有效的图片", code="not_an_image") from exc
    if fmt not in PHOTO_FORMATS:
        raise BadInput("照片只支持 JPEG、PNG、WEBP、GIF 格式", code="photo_type", detail={"format": fmt})
    if w * h > 60_000_000:
        raise TooLarge("照片像素过大", code="photo_too_large")
    ctype, ext = PHOTO_FORMATS[fmt]
    return ctype, ext, w, h


def _store_photo(session: Session, order: OrderRow, stage: str, photo: PhotoIn) -> OrderPhoto:
    ctype, ext, w, h = check_photo(photo.content)
    digest = hashlib.sha256(photo.content).hexdigest()[:24]
    rel = f"events/{order.id}/{stage}-{digest}.{ext}"
    path = get_settings().uploads_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(photo.content)
    row = OrderPhoto(order_id=order.id, stage=stage, path=rel, content_type=ctype, size=len(photo.content),
                     width=w, height=h)
    session.add(row)
    return row


def photo_file(session: Session, principal: Principal, photo_id: int) -> tuple[Path, str]:
    row = session.get(OrderPhoto, photo_id)
    if row is None:
        raise NotFound("照片不存在", code="unknown_photo")
    order = session.get(WorkOrder, row.order_id)
    assert order is not None
    _check_visible(session, principal, order)
    return get_settings().uploads_dir / row.path, row.content_type


# ---------------------------------------------------------------- helpers

def _order(session: Session, number: str, lock: bool = False) -> WorkOrder:
    stmt = select(WorkOrder).where(WorkOrder.number == number)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"工单不存在：{number}", code="unknown_order", detail={"number": number})
    return row


@dataclass
class _Rows:
    """Timeline and timer rows of a batch of intakes, kept as plain values and inserted in bulk per
    table at the end (nothing reads their generated ids)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, session: Session, orders: list[dict[str, Any]] | None = None) -> None:
        """These rows, after ``orders`` (new order rows they belong to): one statement on PostgreSQL."""
        insert_many(session, [(WorkOrder.__table__, orders or []), (OrderEvent.__table__, self.events),
                              (Timer.__table__, self.timers)])


def _event(session: Session, order: OrderRow, actor: Principal, action: str, frm: str | None, to: str | None,
           note: str = "", detail: dict[str, Any] | None = None, now: datetime | None = None,
           rows: _Rows | None = None) -> None:
    row = {"order_id": order.id, "ts": now or utcnow(), "actor": actor.actor, "action": action,
           "from_status": frm, "to_status": to, "note": note, "detail": detail or {}}
    if rows is not None:
        rows.events.append(row)
    else:
        session.add(OrderEvent(**row))


def _require(order: OrderRow, action: str, allowed: set[str]) -> None:
    if order.status not in allowed:
        raise IllegalTransition(
            f"工单 {order.number} 当前状态为「{status_label(order.status)}」，不能执行「{ACTION_LABELS[action]}」",
            code="illegal_transition",
            detail={"number": order.number, "status": order.status, "action": action,
                    "allowed_from": sorted(allowed)})


def _move(session: Session, principal: Principal, order: OrderRow, action: str, allowed: set[str], to: str,
          note: str = "", detail: dict[str, Any] | None = None, now: datetime | None = None,
          ledger: bool = True, rows: _Rows | None = None) -> None:
    _require(order, action, allowed)
    frm = order.status
    order.status = to
    order.updated_at = now or utcnow()
    _event(session, order, principal, action, frm, to, note, detail, now, rows)
    if ledger:
        audit.record(session, principal, f"events.{action}", "work_order", order.number,
                     {"from": frm, "to": to, **({"note": note[:200]} if note else {}), **(detail or {})})


def _need_text(value: str | None, what: str, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise BadInput(f"请填写{what}", code=code)
    return value[:2000]


def _is_unit_member(principal: Principal, order: WorkOrder) -> bool:
    return principal.is_system or (principal.org_code is not None
                                   and principal.org_code in [order.main_unit, *(order.assist_units or [])])


def _check_handler(principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.handle")
    if principal.is_system or principal.org_code == order.main_unit:
        return
    raise PermissionDenied("只有主办单位可以办理此工单", code="not_assigned_unit",
                           detail={"number": order.number, "main_unit": order.main_unit})


def _grid_workers(session: Session, grid_code: str | None) -> list[str]:
    if not grid_code:
        return []
    try:
        from citybase.grid import service as grid
    except ImportError:
        return []
    return list(grid.grid_workers(session, grid_code))


def _check_verifier(session: Session, principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.verify")
    if principal.is_system:
        return
    if principal.username in _grid_workers(session, order.grid_code):
        return
    if principal.org_code and principal.org_code in (order.street_code, order.grid_code):
        return
    raise PermissionDenied("只有该网格的网格员可以核查此工单", code="not_grid_worker",
                           detail={"number": order.number, "grid_code": order.grid_code})


def can_read_all(principal: Principal) -> bool:
    return principal.is_system or principal.role in ("operator", "admin", "auditor")


def _check_visible(session: Session, principal: Principal, order: WorkOrder) -> None:
    authorize(principal, "events.read")
    if can_read_all(principal) or _is_unit_member(principal, order):
        return
    if principal.role == "grid_worker" and principal.org_code in (order.street_code, order.grid_code, order.district_code):
        return
    if principal.role == "grid_worker" and principal.username in _grid_workers(session, order.grid_code):
        return
    if principal.org_code and principal.org_code in (order.street_code, order.district_code):
        return
    raise PermissionDenied("无权查看该工单（只能查看本单位的工单）", code="order_not_visible")


def scope_filter(principal: Principal) -> Any:
    """SQL condition limiting orders to those the principal may read."""
    if can_read_all(principal):
        return None
    org = principal.org_code or "-"
    conds = [WorkOrder.main_unit == org, WorkOrder.street_code == org, WorkOrder.district_code == org,
             WorkOrder.grid_code == org]
    return or_(*conds)


# ---------------------------------------------------------------- deadlines and timers

def deadline(session: Session | None, start: datetime, unit: str, amount: float, cal: Any = None) -> datetime:
    cal = cal or calendar(session)  # type: ignore[arg-type]
    if unit == "work_days":
        whole = int(amount)
        due = cal.add_workdays(start, whole) if whole else start
        rest = amount - whole
        return cal.add_work_hours(due, rest * WORKDAY_HOURS) if rest else due
    return cal.add_work_hours(start, amount)


def _hours(unit: str, amount: float) -> float:
    return amount * WORKDAY_HOURS if unit == "work_days" else amount


def _cancel_timers(session: Session, order: WorkOrder, kinds: set[str] | None = None, now: datetime | None = None) -> None:
    cond = [Timer.order_id == order.id, Timer.fired_at.is_(None)]
    if kinds:
        cond.append(Timer.kind.in_(kinds))
    session.execute(update(Timer).where(*cond).values(fired_at=now or utcnow(), result="cancelled"))


def _schedule(session: Session, order: OrderRow, start: datetime, *, sign: bool, cal: Any,
              rows: _Rows | None = None) -> None:
    """Create this round's timer rows (sign-in due, 80 % warning, handling due, 催办, 督办 ×2)."""
    order.timer_round = (order.timer_round or 0) + 1
    base = order.timer_round * 10
    sla = order.sla or {}
    unit, handle = sla.get("unit", "work_hours"), float(sla.get("handle", 8))
    plan = []
    if sign and order.sign_due_at:
        plan.append(("sign_due", 0, order.sign_due_at))
    due = order.handle_due_at
    assert due is not None
    warn_at = cal.add_work_hours(start, _hours(unit, handle) * float(sla.get("warn_ratio", 0.8)))
    if warn_at < due:
        plan.append(("warn", 0, warn_at))
    plan.append(("handle_due", 0, due))
    plan.append(("urge", 0, cal.add_workdays(due, 1)))
    steps = max(1, len(sla.get("escalation") or ["street", "district", "city"]) - 1)
    for k in range(1, steps + 1):
        plan.append(("supervise", k, cal.add_workdays(due, 5 * k)))
    for kind, k, at in plan:
        row = {"order_id": order.id, "kind": kind, "step": base + k, "due_at": at, "fired_at": None, "result": ""}
        if rows is not None:
            rows.timers.append(row)
        else:
            session.add(Timer(**row))


def process_due_timers(now: datetime | None = None, batch: int = 200) -> int:
    """Fire every timer due by ``now`` exactly once, in due order per order. Safe to run in several
    workers at once and after a crash: each action and its ``fired_at`` commit in one transaction.
    A worker takes whole orders (PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` on the order rows;
    SQLite: under ``BEGIN IMMEDIATE``), so two workers never fire timers of the same order."""
    from citybase.db import session_scope

    now = now or utcnow()
    fired = 0
    while True:
        with session_scope(write=True) as s:
            due = select(Timer.order_id).where(Timer.fired_at.is_(None), Timer.due_at <= now)
            stmt = select(WorkOrder.id).where(WorkOrder.id.in_(due)).order_by(WorkOrder.id).limit(batch)
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(s.execute(stmt).scalars())
            if ids:
                timers = s.execute(select(Timer).where(Timer.order_id.in_(ids), Timer.fired_at.is_(None),
                                                       Timer.due_at <= now)
                                   .order_by(Timer.order_id, Timer.due_at, Timer.step, Timer.id)).scalars()
                for t in timers:
                    t.result = _fire(s, t, now)
                    t.fired_at = now
                    fired += t.result == "fired"
        if len(ids) < batch:
            return fired


def _fire(session: Session, timer: Timer, now: datetime) -> str:
    order = session.get(WorkOrder, timer.order_id)
    if order is None:
        return "skipped"
    level_names = order.sla.get("escalation") or ["street", "district", "city"]
    if timer.kind == "sign_due":
        if order.status != DISPATCHED:
            return "skipped"
        order.urge_count += 1
        note = f"超过签收时限（{order.sign_due_at and order.sign_due_at.isoformat()}）仍未签收，已催签"
        _timer_event(session, order, "sign_overdue", note, timer, now)
        return "fired"
    if order.status not in HANDLING:
        return "skipped"
    if timer.kind == "warn":
        _timer_event(session, order, "warn", "办理时限已过 80%，请抓紧办理", timer, now)
    elif timer.kind == "handle_due":
        order.overdue = True
        _timer_event(session, order, "overdue", "已超过办理时限", timer, now)
    elif timer.kind == "urge":
        order.urge_count += 1
        _timer_event(session, order, "urge", "超期次日自动催办", timer, now)
    elif timer.kind == "supervise":
        level = min(timer.step % 10, len(level_names) - 1)
        if level <= order.escalation_level:
            return "skipped"
        order.escalation_level = level
        name = LEVEL_LABELS.get(level_names[level], level_names[level])
        _timer_event(session, order, "supervise", f"超期未办结，升级至{name}级督办", timer, now,
                     {"level": level_names[level]})
    else:
        return "skipped"
    return "fired"


def _timer_event(session: Session, order: WorkOrder, action: str, note: str, timer: Timer, now: datetime,
                 extra: dict[str, Any] | None = None) -> None:
    detail = {"timer": timer.kind, "step": timer.step, "due_at": timer.due_at.isoformat(), **(extra or {})}
    _event(session, order, SYSTEM, action, order.status, order.status, note, detail, now)
    audit.record(session, SYSTEM, f"events.{action}", "work_order", order.number, detail)


# ---------------------------------------------------------------- intake

def _number_for(order_id: int, at: datetime) -> str:
    from citybase.web.templating import SHANGHAI

    return f"{at.astimezone(SHANGHAI):%Y%m%d}{order_id:07d}"


@dataclass
class _Reference:
    """What intake reads but never changes, loaded once per batch: problem types, the dispatch
    catalogue and the working calendar."""

    types: dict[str, ProblemType]
    rules: list[DispatchRule]
    cal: Any

    @classmethod
    def load(cls, session: Session, codes: set[str]) -> _Reference:
        """Only the types named by the batch and the catalogue rules that could apply to them."""
        types = {t.code: t for t in session.execute(select(ProblemType).where(ProblemType.code.in_(codes))).scalars()}
        rules = session.execute(select(DispatchRule).where(
            or_(DispatchRule.type_code.in_(codes), DispatchRule.type_code.is_(None)))).scalars()
        return cls(types=types, rules=list(rules), cal=calendar(session))

    @classmethod
    def recent(cls, session: Session, codes: set[str]) -> _Reference:
        """All of it, as read by this process less than REFERENCE_SECONDS ago (read now otherwise,
        or when the batch names a type not seen then). Types and catalogue rules changed through this
        process apply at once (:func:`_forget_reference`); calendar days, and changes made in another
        worker, within REFERENCE_SECONDS."""
        key = get_settings().db_url
        hit = _REFERENCE.get(key)
        if hit is not None and time.monotonic() - hit[0] < REFERENCE_SECONDS and codes <= hit[1].types.keys():
            return hit[1]
        ref = cls(types={t.code: t for t in session.execute(select(ProblemType)).scalars()},
                  rules=list(session.execute(select(DispatchRule)).scalars()), cal=calendar(session))
        _REFERENCE[key] = (time.monotonic(), ref)
        return ref


# The intake API's copy of the reference data (see _Reference.recent): three round trips a batch less.
REFERENCE_SECONDS = float(os.environ.get("CITYBASE_INTAKE_REFERENCE_SECONDS", "2"))
_REFERENCE: dict[str, tuple[float, _Reference]] = {}


def _forget_reference(session: Session) -> None:
    """Problem types or the dispatch catalogue change: this process reads them afresh, now and
    again once the change is committed."""
    clear_now_and_after_commit(session, _REFERENCE)


def warm_up() -> None:
    """Load what intake reads from disk on first use: the classifier (and its word dictionary) and
    the city's district boundaries."""
    suggest_types("井盖缺失", top=1)
    divisions.locate_district(0.0, 0.0, get_settings().city_code)


def intake(session: Session, principal: Principal, data: IntakeIn, *, now: datetime | None = None) -> OrderOut:
    """Register a problem from any channel. Machine channels are triaged and dispatched at once
    when the type and place are known. The same ``external_id`` on the same channel returns the
    order already registered (retries are safe)."""
    out = intake_many(session, [(principal, data)], now=now)[0]
    if isinstance(out, CitybaseError):
        raise out
    return out


def _check_intake(principal: Principal, data: IntakeIn) -> None:
    if data.channel != "public":
        authorize(principal, "events.intake")
    if data.channel == "grid" and principal.role not in ("grid_worker",) and not principal.is_system:
        raise PermissionDenied("只有网格员可以通过网格渠道上报", code="grid_channel")
    if data.channel == "sensor" and not data.external_id:
        raise BadInput("物联感知工单必须带告警编号 external_id", code="missing_external_id")
    if not data.description.strip():
        raise BadInput("请填写问题描述", code="missing_description")
    if (data.lon is None) != (data.lat is None):
        raise BadInput("经度和纬度须同时提供", code="bad_point")


def intake_many(session: Session, items: list[tuple[Principal, IntakeIn]], *,
                now: datetime | None = None, recent_reference: bool = False) -> list[OrderOut | CitybaseError]:
    """:func:`intake` for several problems in the caller's one transaction (group commit for the
    intake API). Reference data is read once, orders are inserted in one batch and the ledger
    entries appended in one go. A problem refused for its own reasons (bad point, no permission…)
    comes back as its error in its place and does not affect the others. ``recent_reference``: the
    intake API's batches use reference data (and the grid layer's version) up to REFERENCE_SECONDS
    old (see _Reference.recent)."""
    now = now or utcnow()
    results: list[OrderOut | CitybaseError | None] = [None] * len(items)
    todo: list[int] = []
    for i, (principal, data) in enumerate(items):
        try:
            _check_intake(principal, data)
            todo.append(i)
        except CitybaseError as exc:
            results[i] = exc
    # classify first: pure CPU, before this transaction takes any database lock
    suggestions = {i: suggest_types(items[i][1].description.strip(), top=1) for i in todo if not items[i][1].type_code}
    keys = {(items[i][1].channel, items[i][1].external_id) for i in todo if items[i][1].external_id}
    known: dict[tuple[str, str], WorkOrder] = {}
    if keys:  # retries are rare: look for them by key, and load only the orders found
        found = [order_id for order_id, channel, external_id in session.execute(
            select(WorkOrder.id, WorkOrder.channel, WorkOrder.external_id).where(
                WorkOrder.external_id.in_([k[1] for k in keys]))) if (channel, external_id) in keys]
        if found:
            for o in session.execute(select(WorkOrder).where(WorkOrder.id.in_(found))).scalars():
                known[(o.channel, o.external_id)] = o
    codes = {items[i][1].type_code for i in todo if items[i][1].type_code} | \
        {sug[0][0] for sug in suggestions.values() if sug}
    load = _Reference.recent if recent_reference else _Reference.load
    ref = load(session, codes) if todo else None  # type: ignore[arg-type]
    finder = grid_locator(session, REFERENCE_SECONDS if recent_reference else 0.0) \
        if any(items[i][1].lon is not None for i in todo) else None
    first_of: dict[tuple[str, str], int] = {}
    repeats: dict[int, int] = {}
    new: list[tuple[int, _NewOrder, bool]] = []
    for i in todo:
        principal, data = items[i]
        key = (data.channel, data.external_id) if data.external_id else None
        if key is not None and key in known:
            results[i] = to_out(session, principal, known[key])
            continue
        if key is not None and key in first_of:  # the same problem twice in one batch
            repeats[i] = first_of[key]
            continue
        try:
            order, auto = _new_order(session, principal, data, suggestions.get(i, []), ref, now,  # type: ignore[arg-type]
                                     finder)
        except CitybaseError as exc:
            results[i] = exc
            continue
        if key is not None:
            first_of[key] = i
        new.append((i, order, auto))
    # ids up front: the orders go in as one bulk insert once their dispatch is decided
    rows = _Rows()
    ledger: list[tuple[Principal | str, str, str, str | int, dict[str, Any] | None]] = []
    cal = RememberingCalendar(ref.cal) if ref else None  # the batch's orders share ``now``: same deadlines
    for (i, order, auto), order_id in zip(new, reserve_ids(session, WorkOrder.__table__, len(new)), strict=True):
        principal, data = items[i]
        order.id, order.number = order_id, _number_for(order_id, now)
        _event(session, order, principal, "intake", None, RECEIVED,
               f"{CHANNEL_LABELS.get(data.channel, data.channel)}受理", {"channel": data.channel}, now, rows)
        detail: dict[str, Any] = {"channel": data.channel, "type_code": order.type_code,
                                  "grid_code": order.grid_code, "district_code": order.district_code,
                                  "external_id": data.external_id}
        if auto:
            main, assists = resolve_units(session, order, ref=ref)
            if main:  # 智能分拨: triage and dispatch are on the timeline; this one ledger entry records both
                _move(session, SYSTEM, order, "triage", {RECEIVED}, TRIAGED, "智能分拨", now=now, ledger=False,
                      rows=rows)
                _dispatch(session, SYSTEM, order, main, assists, now=now, ledger=False, cal=cal, rows=rows)
                detail.update(auto_dispatch={"main_unit": main, "assist_units": assists,
                                             "handle_due_at": order.handle_due_at.isoformat()
                                             if order.handle_due_at else None})
        ledger.append((principal, "events.intake", "work_order", order.number, detail))
        results[i] = to_out(session, principal, order)
    # the orders stay out of the session (nothing of theirs is read back): inserted with their
    # timeline and timers in one statement, then their photos
    rows.insert(session, [o.columns() for _, o, _ in new])
    for i, order, _ in new:
        for photo in items[i][1].photos:
            _store_photo(session, order, "intake", photo)
    audit.record_many(session, ledger)
    for i, j in repeats.items():
        results[i] = results[j]
    return results  # type: ignore[return-value]


_ORDER_COLUMNS = [c.key for c in WorkOrder.__table__.columns]


class _NewOrder:
    """An order being registered by :func:`intake_many`: the row's values as plain attributes, read
    and set by the flow helpers just like a :class:`WorkOrder`'s, then inserted in bulk. A mapped
    object never added to a session would do the same, at ~0.15 ms an order of attribute
    instrumentation. Columns not given are None, as they would be on an unflushed WorkOrder."""

    __slots__ = tuple(_ORDER_COLUMNS)

    def __init__(self, **values: Any) -> None:
        for key in _ORDER_COLUMNS:
            setattr(self, key, values.get(key))

    def columns(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _ORDER_COLUMNS}


# what the flow helpers used by intake take: a stored order, or one being registered
OrderRow = WorkOrder | _NewOrder


def _new_order(session: Session, principal: Principal, data: IntakeIn, suggestions: list[tuple[str, float]],
               ref: _Reference, now: datetime, finder: Any = None) -> tuple[_NewOrder, bool]:
    """The order row for one intake, and whether it is dispatched at once."""
    description = data.description.strip()
    place = locate(session, data.lon, data.lat, data.address, grid=finder)
    if data.channel == "grid" and not place.street_code and principal.org_code and not place.grid_code:
        org = principal.org_code
        if len(org) == 9 and (place.district_code is None or org.startswith(place.district_code)):
            place.street_code, place.district_code = org, org[:6]
    suggested, confidence = (suggestions[0] if suggestions else (None, None))
    ptype = None
    if data.type_code:
        ptype = ref.types.get(data.type_code)
        if ptype is None or not ptype.active:
            ptype = get_problem_type(session, data.type_code)  # the clear error for an unknown type
    elif suggested and (data.channel in MACHINE_CHANNELS or data.channel in ("public", "grid")):
        ptype = ref.types.get(suggested)
    attributes = check_attributes(ptype, dict(data.attributes)) if ptype and data.channel == "open311" \
        else dict(data.attributes)
    order = _NewOrder(
        number="",  # from the id, once reserved
        channel=data.channel, status=RECEIVED, type_code=ptype.code if ptype else None,
        type_name=ptype.name if ptype else "", kind=ptype.kind if ptype else "",
        suggested_type=suggested, suggested_confidence=float(confidence) if confidence is not None else None,
        description=description, address=(data.address or place.label or "").strip()[:200],
        lon=data.lon if data.lon is not None else place.lon, lat=data.lat if data.lat is not None else place.lat,
        grid_code=place.grid_code, community_code=place.community_code,
        street_code=place.street_code, district_code=place.district_code,
        reporter_name=(data.reporter_name or "").strip(), reporter_phone=(data.reporter_phone or "").strip(),
        external_id=data.external_id, attributes=attributes, assist_units=[],
        sla=sla_of(ptype) if ptype else {}, reply="", received_at=now, updated_at=now, overdue=False,
        return_count=0, rework_count=0, reopen_count=0, callback_tries=0, urge_count=0, escalation_level=0,
        timer_round=0, created_by=principal.actor)
    auto = data.auto_dispatch if data.auto_dispatch is not None else data.channel in MACHINE_CHANNELS
    return order, bool(auto and ptype is not None)


# ---------------------------------------------------------------- the flow

def reject(session: Session, principal: Principal, number: str, reason: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reason = _need_text(reason, "不予受理的理由", "missing_reason")
    _move(session, principal, order, "reject", {RECEIVED}, REJECTED, reason)
    order.closed_at, order.reply = utcnow(), reason
    return order


def merge(session: Session, principal: Principal, number: str, master_number: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    master = _order(session, master_number)
    if master.number == order.number or master.status in (MERGED, REJECTED):
        raise BadInput("只能并入另一张有效工单", code="bad_master")
    _move(session, principal, order, "merge", {RECEIVED, TRIAGED}, MERGED, f"并入 {master.number}",
          {"master": master.number})
    order.master_number, order.closed_at = master.number, utcnow()
    _event(session, master, principal, "merge", master.status, master.status, f"并入重复诉求 {order.number}",
           {"merged": order.number})
    return order


def answer(session: Session, principal: Principal, number: str, reply: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reply = _need_text(reply, "答复内容", "missing_reply")
    _move(session, principal, order, "answer", {RECEIVED}, ANSWERED, reply)
    order.reply, order.closed_at, order.closed_on_time = reply, utcnow(), True
    return order


def triage(session: Session, principal: Principal, number: str, type_code: str | None = None) -> WorkOrder:
    """受理 → 待派单, confirming (or overriding) the problem type; the SLA is snapshotted here."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _require(order, "triage", {RECEIVED})
    code = type_code or order.type_code or order.suggested_type
    if not code:
        raise BadInput("请先选择问题类型", code="missing_type")
    ptype = get_problem_type(session, code)
    if order.status == RECEIVED:
        order.type_code, order.type_name, order.kind, order.sla = ptype.code, ptype.name, ptype.kind, sla_of(ptype)
    _move(session, principal, order, "triage", {RECEIVED}, TRIAGED, f"问题类型：{ptype.name}",
          {"type_code": ptype.code, "suggested": order.suggested_type})
    return order


def dispatch(session: Session, principal: Principal, number: str, main_unit: str | None = None,
             assist_units: list[str] | None = None, *, now: datetime | None = None) -> WorkOrder:
    """待派单/重办 → 已派单: the clock starts; without a unit the catalogue decides."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    if order.status == RECEIVED:
        triage(session, principal, number)
    if order.status not in (TRIAGED, REOPENED):
        _move(session, principal, order, "dispatch", {TRIAGED, REOPENED}, DISPATCHED)
    if main_unit:
        _org_or_error(session, main_unit)
        assists = [_org_or_error(session, u) for u in assist_units or [] if u and u != main_unit]
    else:
        main_unit, assists = resolve_units(session, order)
        if not main_unit:
            raise BadInput("派单目录中没有匹配的承办单位，请手动指定", code="no_unit")
    _dispatch(session, principal, order, main_unit, assists, now=now)
    return order


def _dispatch(session: Session, principal: Principal, order: OrderRow, main: str, assists: list[str],
              now: datetime | None = None, ledger: bool = True, cal: Any = None, rows: _Rows | None = None) -> None:
    now = now or utcnow()
    cal = cal or calendar(session)
    sla = order.sla or {}
    unit = sla.get("unit", "work_hours")
    order.main_unit, order.assist_units = main, list(assists)
    order.dispatched_at = now
    order.signed_at = None
    order.sign_due_at = deadline(session, now, unit, float(sla.get("sign_in", 1)), cal)
    order.handle_due_at = deadline(session, now, unit, float(sla.get("handle", 8)), cal)
    order.overdue = False
    names = org_names(session)
    _move(session, principal, order, "dispatch", {TRIAGED, REOPENED}, DISPATCHED,
          "主办：" + names.get(main, main) + ("；协办：" + "、".join(names.get(a, a) for a in assists) if assists else ""),
          {"main_unit": main, "assist_units": assists, "sign_due_at": order.sign_due_at.isoformat(),
           "handle_due_at": order.handle_due_at.isoformat()}, now, ledger, rows)
    if order.timer_round:
        _cancel_timers(session, order, now=now)
    _schedule(session, order, now, sign=True, cal=cal, rows=rows)


def sign(session: Session, principal: Principal, number: str, *, now: datetime | None = None) -> WorkOrder:
    order = _order(session, number, lock=True)
    if order.signed_at is None:
        _require(order, "sign", {DISPATCHED})
    _check_handler(principal, order)
    if order.signed_at is not None and order.status not in (DISPATCHED,):
        raise Conflict(f"工单 {number} 已于 {_local(order.signed_at)} 签收，不能重复签收", code="already_signed",
                       detail={"number": number, "status": order.status})
    now = now or utcnow()
    _move(session, principal, order, "sign", {DISPATCHED}, SIGNED, now=now)
    order.signed_at = now
    order.signed_on_time = order.sign_due_at is None or now <= order.sign_due_at
    _cancel_timers(session, order, {"sign_due"}, now)
    return order


def _local(value: datetime) -> str:
    from citybase.web.templating import local_time

    return local_time(value)


def return_order(session: Session, principal: Principal, number: str, reason: str) -> WorkOrder:
    """退单: the unit says it is not its responsibility; back to dispatch, counted."""
    order = _order(session, number, lock=True)
    _require(order, "return", {DISPATCHED, SIGNED})
    _check_handler(principal, order)
    reason = _need_text(reason, "退单理由", "missing_reason")
    _move(session, principal, order, "return", {DISPATCHED, SIGNED}, TRIAGED, reason,
          {"unit": order.main_unit})
    order.return_count += 1
    order.main_unit, order.assist_units, order.signed_at = None, [], None
    order.sign_due_at = order.handle_due_at = None
    _cancel_timers(session, order)
    return order


def start(session: Session, principal: Principal, number: str) -> WorkOrder:
    order = _order(session, number, lock=True)
    _require(order, "start", {SIGNED})
    _check_handler(principal, order)
    _move(session, principal, order, "start", {SIGNED}, IN_PROGRESS)
    return order


def request_extension(session: Session, principal: Principal, number: str, amount: float, reason: str,
                      *, now: datetime | None = None) -> WorkOrder:
    """延期 must be asked before the handling deadline."""
    order = _order(session, number, lock=True)
    _check_handler(principal, order)
    now = now or utcnow()
    reason = _need_text(reason, "延期理由", "missing_reason")
    if order.status not in (SIGNED, IN_PROGRESS):
        raise IllegalTransition(f"工单当前状态为「{status_label(order.status)}」，不能申请延期", code="illegal_transition")
    if order.handle_due_at is not None and now >= order.handle_due_at:
        raise IllegalTransition("已超过办理时限，不能再申请延期", code="extension_too_late",
                                detail={"handle_due_at": order.handle_due_at.isoformat()})
    if not 0 < amount <= 100:
        raise BadInput("延期时长须大于 0 且不超过 100", code="bad_extension")
    if order.pending_extension:
        raise Conflict("已有待审批的延期申请", code="extension_pending")
    order.pending_extension = {"amount": amount, "unit": order.sla.get("unit", "work_hours"), "reason": reason,
                               "requested_at": now.isoformat(), "by": principal.actor}
    _event(session, order, principal, "extension_request", order.status, order.status, reason,
           {"amount": amount}, now)
    audit.record(session, principal, "events.extension_request", "work_order", number, {"amount": amount})
    return order


def decide_extension(session: Session, principal: Principal, number: str, approve: bool,
                     *, now: datetime | None = None) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    ext = order.pending_extension
    if not ext:
        raise IllegalTransition("该工单没有待审批的延期申请", code="no_extension")
    now = now or utcnow()
    action = "extension_approve" if approve else "extension_deny"
    detail: dict[str, Any] = {"amount": ext["amount"]}
    if approve:
        if order.status not in (SIGNED, IN_PROGRESS):
            raise IllegalTransition("工单已不在办理中，不能延期", code="illegal_transition")
        assert order.handle_due_at is not None
        cal = calendar(session)
        order.handle_due_at = deadline(session, order.handle_due_at, ext["unit"], float(ext["amount"]), cal)
        order.overdue = False
        detail["handle_due_at"] = order.handle_due_at.isoformat()
        _cancel_timers(session, order, {"warn", "handle_due", "urge", "supervise"}, now)
        _schedule(session, order, now, sign=False, cal=cal)
    order.pending_extension = None
    _event(session, order, principal, action, order.status, order.status, "", detail, now)
    audit.record(session, principal, f"events.{action}", "work_order", number, detail)
    return order


def suspend(session: Session, principal: Principal, number: str, reason: str,
            *, now: datetime | None = None) -> WorkOrder:
    """挂账 (approved by the operations centre): the clock stops."""
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    reason = _need_text(reason, "挂账理由", "missing_reason")
    now = now or utcnow()
    _move(session, principal, order, "suspend", {IN_PROGRESS}, SUSPENDED, reason, now=now)
    order.suspended_at = now
    _cancel_timers(session, order, now=now)
    return order


def resume(session: Session, principal: Principal, number: str, *, now: datetime | None = None) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    now = now or utcnow()
    _move(session, principal, order, "resume", {SUSPENDED}, IN_PROGRESS, now=now)
    if order.suspended_at and order.handle_due_at:
        order.handle_due_at = order.handle_due_at + (now - order.suspended_at)
    order.suspended_at = None
    _schedule(session, order, now, sign=False, cal=calendar(session))
    return order


def feedback(session: Session, principal: Principal, number: str, note: str,
             photos: list[PhotoIn] | None = None, *, now: datetime | None = None) -> WorkOrder:
    """处理反馈 (with photos) → 核查."""
    order = _order(session, number, lock=True)
    _require(order, "feedback", {IN_PROGRESS})
    _check_handler(principal, order)
    note = _need_text(note, "处理结果", "missing_note")
    _move(session, principal, order, "feedback", {IN_PROGRESS}, VERIFYING, note,
          {"photos": len(photos or [])}, now=now)
    for p in photos or []:
        _store_photo(session, order, "feedback", p)
    order.feedback_at = now or utcnow()
    order.reply = note
    return order


def verify(session: Session, principal: Principal, number: str, passed: bool, note: str = "",
           *, now: datetime | None = None) -> WorkOrder:
    """核查 on site by the grid worker: 通过 → 回访; 返工 → 办理中."""
    order = _order(session, number, lock=True)
    _require(order, "verify_pass" if passed else "verify_rework", {VERIFYING})
    _check_verifier(session, principal, order)
    if passed:
        _move(session, principal, order, "verify_pass", {VERIFYING}, CALLBACK, note, now=now)
    else:
        note = _need_text(note, "返工原因", "missing_reason")
        _move(session, principal, order, "verify_rework", {VERIFYING}, IN_PROGRESS, note, now=now)
        order.rework_count += 1
    return order


def callback(session: Session, principal: Principal, number: str, result: str, note: str = "",
             *, now: datetime | None = None, max_tries: int = CALLBACK_MAX_TRIES) -> WorkOrder:
    """回访: satisfied → 办结; unsatisfied → 重办; unreachable N times → 办结 (counted)."""
    authorize(principal, "events.callback")
    order = _order(session, number, lock=True)
    now = now or utcnow()
    if result not in ("satisfied", "unsatisfied", "unreachable"):
        raise BadInput("回访结果只能是 满意/不满意/未接通", code="bad_result")
    if order.status != CALLBACK:
        _move(session, principal, order, f"callback_{result}", {CALLBACK}, CALLBACK)
    if result == "unreachable":
        order.callback_tries += 1
        if order.callback_tries < max_tries:
            _event(session, order, principal, "callback_unreachable", CALLBACK, CALLBACK,
                   f"第 {order.callback_tries} 次回访未接通", {"tries": order.callback_tries}, now)
            audit.record(session, principal, "events.callback_unreachable", "work_order", number,
                         {"tries": order.callback_tries})
            return order
        _move(session, principal, order, "callback_unreachable", {CALLBACK}, CLOSED,
              f"{order.callback_tries} 次回访未接通，按规定办结", {"tries": order.callback_tries}, now)
        order.satisfaction = "unreachable"
        _close(order, now)
    elif result == "satisfied":
        _move(session, principal, order, "callback_satisfied", {CALLBACK}, CLOSED, note, now=now)
        order.satisfaction = "satisfied"
        _close(order, now)
    else:
        _move(session, principal, order, "callback_unsatisfied", {CALLBACK}, REOPENED, note, now=now)
        order.satisfaction = "unsatisfied"
        order.reopen_count += 1
        order.callback_tries = 0
    return order


def _close(order: WorkOrder, now: datetime) -> None:
    order.closed_at = now
    order.closed_on_time = (order.handle_due_at is None
                            or (order.feedback_at or now) <= order.handle_due_at) and not order.overdue
    if order.dispatched_at:
        order.handle_seconds = int(((order.feedback_at or now) - order.dispatched_at).total_seconds())


def archive(session: Session, principal: Principal, number: str) -> WorkOrder:
    authorize(principal, "events.dispatch")
    order = _order(session, number, lock=True)
    _move(session, principal, order, "archive", {CLOSED, REJECTED, MERGED, ANSWERED}, ARCHIVED)
    order.archived_at = utcnow()
    return order


def reveal_phone(session: Session, principal: Principal, number: str) -> str:
    """The operator calling back sees the reporter's phone; every view is in the ledger."""
    authorize(principal, "events.callback")
    order = _order(session, number)
    audit.record(session, principal, "events.reveal_phone", "work_order", number, {"field": "reporter_phone"})
    _event(session, order, principal, "reveal_phone", order.status, order.status, "回访时查看来电号码")
    return order.reporter_phone


# ---------------------------------------------------------------- reads

def to_out(session: Session, principal: Principal, order: OrderRow, *, timeline: bool = False,
           duplicates: bool = False) -> OrderOut:
    events = []
    if timeline:
        rows = session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id)
                               .order_by(OrderEvent.ts, OrderEvent.id)).scalars()
        events = [EventOut(ts=e.ts, actor=e.actor, action=e.action, action_label=ACTION_LABELS.get(e.action, e.action),
                           from_status=e.from_status, to_status=e.to_status, note=e.note, detail=e.detail or {})
                  for e in rows]
    photos = []
    if timeline:
        photos = list(session.execute(select(OrderPhoto.id).where(OrderPhoto.order_id == order.id)
                                      .order_by(OrderPhoto.id)).scalars())
    dups = []
    if duplicates and order.status in (RECEIVED, TRIAGED):
        dups = [o.number for o in find_duplicates(session, order.type_code or order.suggested_type, order.lon,
                                                  order.lat, order.received_at, exclude=order.number)]
    return OrderOut(
        number=order.number, channel=order.channel, status=order.status, status_label=status_label(order.status),
        type_code=order.type_code, type_name=order.type_name, kind=order.kind, suggested_type=order.suggested_type,
        suggested_confidence=order.suggested_confidence, description=order.description, address=order.address,
        lon=order.lon, lat=order.lat, grid_code=order.grid_code, street_code=order.street_code,
        district_code=order.district_code, reporter_name=mask_name(order.reporter_name),
        reporter_phone=mask_phone(order.reporter_phone), external_id=order.external_id,
        attributes=order.attributes or {}, master_number=order.master_number, main_unit=order.main_unit,
        assist_units=list(order.assist_units or []), sla=order.sla or {}, reply=order.reply,
        received_at=order.received_at, dispatched_at=order.dispatched_at, sign_due_at=order.sign_due_at,
        signed_at=order.signed_at, handle_due_at=order.handle_due_at, closed_at=order.closed_at,
        overdue=order.overdue, satisfaction=order.satisfaction, return_count=order.return_count,
        rework_count=order.rework_count, urge_count=order.urge_count, escalation_level=order.escalation_level,
        pending_extension=order.pending_extension, duplicates=dups, timeline=events, photos=photos)


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Ledger actor names (``user`` or ``user#tokenN``) → display names, for timelines."""
    from citybase.core.errors import NotFound as _NotFound

    out = {"system": "系统", "demo": "系统导入", "unit": "承办单位"}
    for a in actors:
        if a in out:
            continue
        try:
            out[a] = identity.get_user(session, a.split("#", 1)[0]).display_name
        except _NotFound:
            out[a] = a
    return out


def get_order(session: Session, principal: Principal, number: str) -> OrderOut:
    order = _order(session, number)
    _check_visible(session, principal, order)
    return to_out(session, principal, order, timeline=True, duplicates=True)


def get_order_row(session: Session, principal: Principal, number: str) -> WorkOrder:
    order = _order(session, number)
    _check_visible(session, principal, order)
    return order


def list_orders(session: Session, principal: Principal, *, status: list[str] | None = None,
                unit: str | None = None, district: str | None = None, q: str | None = None,
                page: int = 1, size: int = 50) -> Any:
    from citybase.core.pagination import paginate

    authorize(principal, "events.read")
    stmt = select(WorkOrder).order_by(WorkOrder.received_at.desc(), WorkOrder.id.desc())
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if status:
        stmt = stmt.where(WorkOrder.status.in_(status))
    if unit:
        stmt = stmt.where(WorkOrder.main_unit == unit)
    if district:
        stmt = stmt.where(WorkOrder.district_code == district)
    if q:
        stmt = stmt.where(or_(WorkOrder.number == q.strip(), WorkOrder.description.contains(q.strip())))
    return paginate(session, stmt, page, size)


def board(session: Session, principal: Principal, *, now: datetime | None = None, limit: int = 10) -> dict[str, Any]:
    """The operator board: new, to dispatch, near due (warning passed), overdue."""
    authorize(principal, "events.dispatch")
    now = now or utcnow()
    base = select(WorkOrder)

    def rows(*cond: Any, order: Any = WorkOrder.received_at.desc()) -> tuple[list[WorkOrder], int]:
        items = list(session.execute(base.where(*cond).order_by(order).limit(limit)).scalars())
        n = session.execute(select(func.count()).select_from(WorkOrder).where(*cond)).scalar_one()
        return items, n

    near = select(Timer.order_id).where(Timer.kind == "warn", Timer.due_at <= now)  # 80 % of the time used
    out = {
        "new": rows(WorkOrder.status == RECEIVED),
        "to_dispatch": rows(WorkOrder.status.in_([TRIAGED, REOPENED])),
        "near_due": rows(WorkOrder.status.in_(list(HANDLING)), WorkOrder.overdue.is_(False),
                         WorkOrder.handle_due_at >= now, WorkOrder.id.in_(near), order=WorkOrder.handle_due_at),
        "overdue": rows(WorkOrder.status.in_(list(HANDLING)),
                        or_(WorkOrder.overdue.is_(True), WorkOrder.handle_due_at < now), order=WorkOrder.handle_due_at),
        "callback": rows(WorkOrder.status == CALLBACK),
    }
    return out


def inbox(session: Session, principal: Principal, limit: int = 100) -> dict[str, list[WorkOrder]]:
    """A unit's inbox: to sign, in hand, waiting for verification/callback, and orders it assists
    (协办) while the main unit handles them; a grid worker's: to verify."""
    authorize(principal, "events.read")
    org = principal.org_code or "-"
    mine = WorkOrder.main_unit == org

    def rows(*cond: Any) -> list[WorkOrder]:
        return list(session.execute(select(WorkOrder).where(*cond).order_by(WorkOrder.handle_due_at)
                                    .limit(limit)).scalars())

    # 协办: the unit code inside the JSON list, quoted so "320205-cgj" never matches "320205-cgj2"
    assisting = cast(WorkOrder.assist_units, String).like(f'%"{org}"%')
    out = {"to_sign": rows(mine, WorkOrder.status == DISPATCHED),
           "handling": rows(mine, WorkOrder.status.in_([SIGNED, IN_PROGRESS, SUSPENDED])),
           "waiting": rows(mine, WorkOrder.status.in_([VERIFYING, CALLBACK])),
           "assisting": rows(assisting, WorkOrder.status.in_([DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED]))}
    if principal.role == "grid_worker":
        out["to_verify"] = rows(WorkOrder.status == VERIFYING, or_(WorkOrder.street_code == org,
                                                                   WorkOrder.grid_code == org))
    return out


# ---------------------------------------------------------------- figures

GROUPS = {"district": WorkOrder.district_code, "street": WorkOrder.street_code, "unit": WorkOrder.main_unit,
          "type": WorkOrder.type_code}


def stats(session: Session, principal: Principal, by: str = "district", since: datetime | None = None,
          until: datetime | None = None) -> list[dict[str, Any]]:
    """签收率, 按时办结率, 满意率, 结案率, 返工率 and average handling hours per group."""
    authorize(principal, "events.stats")
    if by not in GROUPS:
        raise BadInput("分组只能是 district/street/unit/type", code="bad_group")
    col = GROUPS[by]

    def cnt(cond: Any) -> Any:  # COUNT(*) FILTER (WHERE …) on both PostgreSQL and SQLite ≥ 3.30
        return func.count().filter(cond)

    closed = WorkOrder.status.in_([CLOSED, ARCHIVED])
    stmt = select(
        col.label("key"), func.count().label("total"),
        cnt(WorkOrder.dispatched_at.is_not(None)).label("dispatched"),
        cnt(WorkOrder.signed_on_time.is_(True)).label("signed_on_time"),
        cnt(closed).label("closed"),
        cnt(and_(closed, WorkOrder.closed_on_time.is_(True))).label("closed_on_time"),
        cnt(and_(WorkOrder.satisfaction == "satisfied", WorkOrder.reopen_count == 0)).label("satisfied"),
        cnt(WorkOrder.satisfaction.in_(["satisfied", "unsatisfied"])).label("rated"),
        cnt(WorkOrder.rework_count > 0).label("reworked"),
        cnt(WorkOrder.feedback_at.is_not(None)).label("fed_back"),
        cnt(WorkOrder.status.in_([REJECTED, MERGED])).label("void"),
        func.avg(WorkOrder.handle_seconds).label("avg_seconds"),
    ).where(col.is_not(None)).group_by(col)
    if since:
        stmt = stmt.where(WorkOrder.received_at >= since)
    if until:
        stmt = stmt.where(WorkOrder.received_at < until)
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    names = _group_names(session, by)
    out = []
    for r in session.execute(stmt):
        def ratio(a: int, b: int) -> float | None:
            return round(100.0 * a / b, 1) if b else None
        accepted = r.total - (r.void or 0)
        out.append({"key": r.key, "name": names.get(r.key, r.key), "total": r.total,
                    "sign_rate": ratio(r.signed_on_time or 0, r.dispatched or 0),
                    "ontime_rate": ratio(r.closed_on_time or 0, r.closed or 0),
                    "satisfaction_rate": ratio(r.satisfied or 0, r.rated or 0),
                    "close_rate": ratio(r.closed or 0, accepted),
                    "rework_rate": ratio(r.reworked or 0, r.fed_back or 0),
                    "avg_hours": round(float(r.avg_seconds) / 3600, 1) if r.avg_seconds is not None else None})
    out.sort(key=lambda x: -x["total"])
    return out


def _group_names(session: Session, by: str) -> dict[str, str]:
    if by == "type":
        return {t.code: t.name for t in list_problem_types(session, active_only=False)}
    names = dict(org_names(session))
    if by == "street":
        with contextlib.suppress(Exception):  # street names need the npm package; codes still show
            names.update({s.code: s.name for s in divisions.streets(get_settings().city_code)})
    return names


def hotspots(session: Session, principal: Principal, days: int = 30, limit: int = 5000) -> list[tuple[float, float]]:
    authorize(principal, "events.stats")
    since = utcnow() - timedelta(days=days)
    stmt = select(WorkOrder.lon, WorkOrder.lat).where(WorkOrder.received_at >= since, WorkOrder.lon.is_not(None)
                                                      ).order_by(WorkOrder.id.desc()).limit(limit)
    return [(round(a, 5), round(b, 5)) for a, b in session.execute(stmt)]


def counts_by_status(session: Session, principal: Principal) -> dict[str, int]:
    authorize(principal, "events.stats")
    stmt = select(WorkOrder.status, func.count()).group_by(WorkOrder.status)
    scope = scope_filter(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    return {s: n for s, n in session.execute(stmt)}


# ---------------------------------------------------------------- bulk history (demo data, migrations from old systems)

def import_history(session: Session, principal: Principal, orders: list[dict[str, Any]],
                   events: list[list[dict[str, Any]]], *, now: datetime | None = None) -> int:
    """Load finished histories from another system (or the demo) in one audited import.

    ``orders[i]`` are WorkOrder column values (without id/number), ``events[i]`` their timeline rows
    (ts, actor, action, from_status, to_status, note). Open orders get this round's timers; timers
    already past are marked as imported so the worker does not replay old reminders.
    """

    authorize(principal, "events.admin")
    now = now or utcnow()
    rows = [WorkOrder(number=f"imp-{i}-{now.timestamp()}", **o) for i, o in enumerate(orders)]
    session.add_all(rows)
    session.flush()
    ev_rows: list[dict[str, Any]] = []
    cal = calendar(session)
    for row, evs in zip(rows, events, strict=True):
        row.number = _number_for(row.id, row.received_at)
        for e in evs:
            ev_rows.append({"order_id": row.id, "ts": e["ts"], "actor": e["actor"], "action": e["action"],
                            "from_status": e.get("from_status"), "to_status": e.get("to_status"),
                            "note": e.get("note", ""), "detail": e.get("detail", {})})
        if row.status in HANDLING and row.dispatched_at and row.handle_due_at:
            _schedule(session, row, row.dispatched_at, sign=row.status == DISPATCHED, cal=cal)
    session.flush()
    if ev_rows:
        session.execute(insert(OrderEvent), ev_rows)
    session.execute(update(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now,
                                        Timer.order_id.in_([r.id for r in rows if r.status in HANDLING]))
                    .values(fired_at=now, result="imported"))
    audit.record(session, principal, "events.import_history", "work_order", "*",
                 {"orders": len(rows), "events": len(ev_rows)})
    return len(rows)


# ---------------------------------------------------------------- service attributes (Open311 and forms)

URGENCY = {"code": "urgency", "variable": True, "datatype": "singlevaluelist", "required": False,
           "description": "紧急程度", "datatype_description": "一般或紧急",
           "values": [{"key": "normal", "name": "一般"}, {"key": "urgent", "name": "紧急"}]}
COMPONENT_STATE = {"code": "component_state", "variable": True, "datatype": "singlevaluelist", "required": True,
                   "description": "部件状况", "datatype_description": "部件问题必须说明状况",
                   "values": [{"key": "missing", "name": "丢失"}, {"key": "broken", "name": "破损"},
                              {"key": "displaced", "name": "移位"}, {"key": "other", "name": "其他"}]}


def service_attributes(ptype: ProblemType) -> list[dict[str, Any]]:
    attrs = [COMPONENT_STATE] if ptype.kind == "部件" else []
    attrs = [*attrs, URGENCY]
    return [{**a, "order": i + 1} for i, a in enumerate(attrs)]


def check_attributes(ptype: ProblemType, given: dict[str, Any]) -> dict[str, Any]:
    """Required attributes present, list values among the allowed keys; unknown keys refused."""
    spec = {a["code"]: a for a in service_attributes(ptype)}
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in spec:
            raise BadInput(f"该类问题没有属性 {key}", code="unknown_attribute", detail={"attribute": key})
        allowed = [v["key"] for v in spec[key]["values"]]
        if allowed and value not in allowed:
            raise BadInput(f"属性 {key} 的取值必须是 {'、'.join(allowed)} 之一", code="bad_attribute",
                           detail={"attribute": key, "allowed": allowed})
        out[key] = value
    for code, a in spec.items():
        if a["required"] and not str(given.get(code, "")).strip():
            raise BadInput(f"缺少必填属性：{a['description']}（{code}）", code="missing_attribute",
                           detail={"attribute": code})
    return out


def expected_due(session: Session, order: WorkOrder) -> datetime | None:
    """The handling deadline, or (before dispatch) what the SLA promises from now."""
    if order.handle_due_at:
        return order.handle_due_at
    if order.sla and is_open(order.status):
        return deadline(session, order.received_at, order.sla.get("unit", "work_hours"),
                        float(order.sla.get("handle", 8)))
    return None


def query_orders(session: Session, *, numbers: list[str] | None = None, type_codes: list[str] | None = None,
                 start: datetime | None = None, end: datetime | None = None, open_: bool | None = None,
                 page: int = 1, size: int = 1000) -> list[WorkOrder]:
    """Public request listing (Open311): no personal fields are ever read from the result."""
    stmt = select(WorkOrder).order_by(WorkOrder.received_at.desc(), WorkOrder.id.desc())
    if numbers:
        stmt = stmt.where(WorkOrder.number.in_(numbers))
    else:
        if type_codes:
            stmt = stmt.where(WorkOrder.type_code.in_(type_codes))
        if start:
            stmt = stmt.where(WorkOrder.received_at >= start)
        if end:
            stmt = stmt.where(WorkOrder.received_at <= end)
        if open_ is True:
            stmt = stmt.where(WorkOrder.status.not_in(list(FINISHED)))
        elif open_ is False:
            stmt = stmt.where(WorkOrder.status.in_(list(FINISHED)))
    return list(session.execute(stmt.limit(size).offset((page - 1) * size)).scalars())


def find_order(session: Session, number: str) -> WorkOrder:
    return _order(session, number)


# ---------------------------------------------------------------- for other modules (IoT, grid map)

def order_status(session: Session, number: str) -> str:
    return _order(session, number).status


def orders_closed_since(session: Session, since: datetime) -> list[tuple[str, str | None, str]]:
    """(number, external_id, status) of orders finished since ``since`` (IoT reflects closure on alarms)."""
    stmt = select(WorkOrder.number, WorkOrder.external_id, WorkOrder.status).where(
        WorkOrder.closed_at.is_not(None), WorkOrder.closed_at >= since).order_by(WorkOrder.closed_at)
    return [(a, b, c) for a, b, c in session.execute(stmt)]


def open_orders_by_grid(session: Session) -> dict[str, int]:
    stmt = select(WorkOrder.grid_code, func.count()).where(
        WorkOrder.grid_code.is_not(None), WorkOrder.status.not_in(list(FINISHED))).group_by(WorkOrder.grid_code)
    return {g: n for g, n in session.execute(stmt)}
