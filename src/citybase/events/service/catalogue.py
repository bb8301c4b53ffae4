"""Problem types with their time limits (SLA), and the dispatch catalogue that routes an order to units."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.calendar.service import calendar
from citybase.core.errors import (
    BadInput,
    NotFound,
)
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.db import clear_now_and_after_commit
from citybase.events import classifier
from citybase.events.models import DispatchRule, ProblemType, WorkOrder
from citybase.events.schemas import ProblemTypeIn
from citybase.events.service.records import OrderRow
from citybase.events.service.states import FINISHED, LEVEL_LABELS, is_open
from citybase.events.service.timers import deadline


def builtin_problem_types() -> list[dict[str, Any]]:
    """The shipped list (written with the classifier)."""
    return list(classifier.problem_types())


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


def find_problem_type(session: Session, code: str) -> ProblemType | None:
    """A problem type by code, active or not; None when there is none."""
    return session.get(ProblemType, code)


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
        """All of it, as read by this process less than ``intake_reference_seconds`` ago (read now otherwise,
        or when the batch names a type not seen then). Types and catalogue rules changed through this
        process apply at once (:func:`_forget_reference`); calendar days, and changes made in another
        worker, within ``intake_reference_seconds``."""
        key = get_settings().db_url
        hit = _REFERENCE.get(key)
        if hit is not None and time.monotonic() - hit[0] < get_settings().intake_reference_seconds and codes <= hit[1].types.keys():
            return hit[1]
        ref = cls(types={t.code: t for t in session.execute(select(ProblemType)).scalars()},
                  rules=list(session.execute(select(DispatchRule)).scalars()), cal=calendar(session))
        _REFERENCE[key] = (time.monotonic(), ref)
        return ref


# The intake API's copy of the reference data (see _Reference.recent): three round trips a batch less.
_REFERENCE: dict[str, tuple[float, _Reference]] = {}


def _forget_reference(session: Session) -> None:
    """Problem types or the dispatch catalogue change: this process reads them afresh, now and
    again once the change is committed."""
    clear_now_and_after_commit(session, _REFERENCE)


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
