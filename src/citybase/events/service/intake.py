"""Intake: one order or a batch from the hotline, grid workers, the public, machines and Open311."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import (
    BadInput,
    CitybaseError,
    PermissionDenied,
)
from citybase.core.identity.principal import SYSTEM, Principal, authorize
from citybase.core.time import SHANGHAI, utcnow
from citybase.db import reserve_ids
from citybase.events.models import WorkOrder
from citybase.events.schemas import IntakeIn, OrderOut
from citybase.events.service.catalogue import (
    _Reference,
    check_attributes,
    get_problem_type,
    resolve_units,
    sla_of,
)
from citybase.events.service.flow import _dispatch
from citybase.events.service.photos import _store_photo
from citybase.events.service.place import grid_locator, locate, suggest_types
from citybase.events.service.queries import to_out
from citybase.events.service.records import _event, _move, _NewOrder, _Rows
from citybase.events.service.states import (
    CHANNEL_LABELS,
    MACHINE_CHANNELS,
    MIN_DESCRIPTION,
    PEOPLE_CHANNELS,
    RECEIVED,
    TRIAGED,
)
from citybase.reference import divisions
from citybase.reference.workcal import RememberingCalendar


def _number_for(order_id: int, at: datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%Y%m%d}{order_id:07d}"


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
    if data.channel in PEOPLE_CHANNELS and len("".join(data.description.split())) < MIN_DESCRIPTION:
        raise BadInput(f"问题描述太短：请至少写 {MIN_DESCRIPTION} 个字，说清是什么问题（如“路灯不亮”）",
                       code="description_too_short", detail={"min_length": MIN_DESCRIPTION})
    if (data.lon is None) != (data.lat is None):
        raise BadInput("经度和纬度须同时提供", code="bad_point")


def intake_many(session: Session, items: list[tuple[Principal, IntakeIn]], *,
                now: datetime | None = None, recent_reference: bool = False) -> list[OrderOut | CitybaseError]:
    """:func:`intake` for several problems in the caller's one transaction (group commit for the
    intake API). Reference data is read once, orders are inserted in one batch and the ledger
    entries appended in one go. A problem refused for its own reasons (bad point, no permission…)
    comes back as its error in its place and does not affect the others. ``recent_reference``: the
    intake API's batches use reference data (and the grid layer's version) up to ``intake_reference_seconds``
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
    finder = grid_locator(session, get_settings().intake_reference_seconds if recent_reference else 0.0) \
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


def _new_order(session: Session, principal: Principal, data: IntakeIn, suggestions: list[tuple[str, float]],
               ref: _Reference, now: datetime, finder: Any = None) -> tuple[_NewOrder, bool]:
    """The order row for one intake, and whether it is dispatched at once."""
    description = data.description.strip()
    place = locate(session, data.lon, data.lat, data.address, grid=finder)
    if data.channel == "grid" and not place.street_code and principal.org_code and not place.grid_code:
        org = principal.org_code
        if len(org) == 9 and (place.district_code is None or org.startswith(place.district_code)):
            place.street_code, place.district_code = org, org[:6]
    if data.channel in PEOPLE_CHANNELS and place.district_code is None and place.lon is None \
            and data.lon is None and not data.address_unknown:
        if data.address and data.address.strip():
            raise BadInput(f"地址“{data.address.strip()}”无法定位到本市的区或街道：请补充区、街道或道路门牌，"
                           "或在地图上选点；确实说不清的请勾选“地址不详”", code="address_not_found",
                           detail={"address": data.address.strip()})
        raise BadInput("请填写事发地址或在地图上选点；确实说不清的请勾选“地址不详”", code="missing_location")
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
    if data.address_unknown and place.district_code is None:
        attributes["address_unknown"] = True
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
