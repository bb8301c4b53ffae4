"""数据治理 service: evaluate rules over lake versions, store GX-shaped reports, list 一数一源
conflicts, and run the 数据异议 (objection) loop with working-day deadlines."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.calendar import service as workcal
from citybase.core.errors import BadInput, IllegalTransition, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.lake import service as lake
from citybase.quality import rules as engine
from citybase.quality.models import ConflictSet, Objection, ObjectionEvent, QualityRule, ReportRow
from citybase.quality.schemas import (
    ConflictReport,
    ConflictRow,
    ConflictSetIn,
    ConflictSetOut,
    ObjectionEventOut,
    ObjectionIn,
    ObjectionOut,
    QualityReport,
    RuleIn,
    RuleOut,
)
from citybase.standards.masking import element_mask_kind, mask_value
from citybase.standards.sql import quote_ident


def _resource(session: Session, code: str) -> Any:
    from citybase.catalog import service as catalog

    return catalog.get_resource(session, code)


def _check_steward(session: Session, principal: Principal, res: Any) -> None:
    authorize(principal, "quality.rule_edit")
    if identity.provider_or_bureau(session, principal, res.provider_code):
        return
    raise PermissionDenied("只有数据提供部门或大数据管理局的数据管理员可以维护质量规则", code="not_steward")


# --------------------------------------------------------------------------- rules

def _explicit(session: Session, code: str) -> list[QualityRule]:
    return list(session.execute(select(QualityRule).where(QualityRule.resource_code == code,
                                                          QualityRule.enabled.is_(True))
                                .order_by(QualityRule.id)).scalars())


def rules_for(session: Session, code: str, res: Any | None = None) -> list[engine.Rule]:
    """Automatic rules from the 信息项 and their data-element standards, then the explicit rules."""
    res = res or _resource(session, code)
    rules = engine.auto_rules(res.fields, res.update_cycle)
    for row in _explicit(session, code):
        rules.append(engine.rule_from_row(row.id, row.rule_type, list(row.columns),
                                          dict(row.params or {}), row.label))
    return rules


def list_rules(session: Session, code: str) -> list[RuleOut]:
    res = _resource(session, code)
    labels = {f.name: f.label for f in res.fields}
    out = []
    for r in rules_for(session, code, res):
        out.append(RuleOut(key=r.key, id=int(r.key.split(":")[1]) if r.source == "explicit" else None,
                           rule_type=r.type, type_label=engine.RULE_TYPES.get(r.type, r.type), columns=r.columns,
                           params={k: v for k, v in r.params.items() if not k.startswith("_")},
                           dimension=r.dimension, dimension_label=engine.DIMENSIONS[r.dimension],
                           description=r.describe(labels), gx_type=r.gx_type, source=r.source))
    return out


def _validate_rule(session: Session, res: Any, data: RuleIn) -> dict[str, Any]:
    names = {f.name for f in res.fields}
    p = dict(data.params)
    need_cols = {"freshness": 0}.get(data.rule_type, 1)
    if len(data.columns) < need_cols:
        raise BadInput("请选择规则作用的信息项", code="rule_needs_column")
    for c in data.columns:
        if c and c not in names:
            raise BadInput(f"信息项“{c}”不属于该资源", code="unknown_field", detail={"field": c})
    t = data.rule_type
    if t == "regex":
        import re

        try:
            re.compile(str(p.get("pattern", "")))
        except re.error as exc:
            raise BadInput(f"正则表达式有误：{exc}", code="bad_regex") from None
        if not p.get("pattern"):
            raise BadInput("请填写正则表达式", code="bad_regex")
    elif t in ("between", "length"):
        if p.get("min_value") in ("", None) and p.get("max_value") in ("", None):
            raise BadInput("请至少填写下限或上限", code="bad_range")
        for k in ("min_value", "max_value"):
            v = p.get(k)
            if v in ("", None):
                p.pop(k, None)
                continue
            if t == "length":
                try:
                    p[k] = int(v)
                except (TypeError, ValueError):
                    raise BadInput("长度上下限须为整数", code="bad_range") from None
            elif isinstance(v, str):
                try:
                    p[k] = int(v) if v.lstrip("-").isdigit() else float(v)
                except ValueError:
                    p[k] = v  # a date or text bound, compared as written
    elif t == "in_set":
        values = p.get("values")
        if isinstance(values, str):
            values = [v.strip() for v in values.replace("，", ",").replace("、", ",").split(",") if v.strip()]
        if not values:
            raise BadInput("请填写允许的取值", code="bad_values")
        p["values"] = [str(v) for v in values]
    elif t == "referential":
        if not p.get("resource_code"):
            raise BadInput("请填写参照资源代码", code="bad_reference")
        try:
            ref = _resource(session, p["resource_code"])
        except NotFound:
            raise BadInput(f"参照资源不存在：{p['resource_code']}", code="bad_reference") from None
        if p.get("ref_column") and p["ref_column"] not in {f.name for f in ref.fields}:
            raise BadInput(f"参照资源没有信息项“{p['ref_column']}”", code="bad_reference")
    elif t == "element":
        if p.get("element") not in engine.ELEMENT_LABELS:
            raise BadInput("请选择数据元标准", code="bad_element")
    elif t == "id_consistency" and not data.columns[0]:
        raise BadInput("请选择身份证号码信息项", code="rule_needs_column")
    if "mostly" in p:
        try:
            m = float(p["mostly"])
        except (TypeError, ValueError):
            raise BadInput("mostly 须为 0 到 1 之间的小数", code="bad_mostly") from None
        if not 0 < m <= 1:
            raise BadInput("mostly 须为 0 到 1 之间的小数", code="bad_mostly")
        p["mostly"] = m
    return p


def add_rule(session: Session, principal: Principal, code: str, data: RuleIn) -> RuleOut:
    res = _resource(session, code)
    _check_steward(session, principal, res)
    params = _validate_rule(session, res, data)
    row = QualityRule(resource_code=code, rule_type=data.rule_type, columns=list(data.columns),
                      params=dict(params), label=data.label, enabled=True,
                      created_by=principal.actor, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "quality.rule_add", "resource", code,
                 {"rule": row.id, "type": data.rule_type, "columns": data.columns, "params": params})
    return next(r for r in list_rules(session, code) if r.key == f"rule:{row.id}")


def remove_rule(session: Session, principal: Principal, rule_id: int) -> None:
    row = session.get(QualityRule, rule_id)
    if row is None or not row.enabled:
        raise NotFound("找不到该质量规则", code="unknown_rule")
    _check_steward(session, principal, _resource(session, row.resource_code))
    row.enabled = False
    audit.record(session, principal, "quality.rule_remove", "resource", row.resource_code, {"rule": rule_id})


# --------------------------------------------------------------------------- evaluation

def _report_out(row: ReportRow) -> QualityReport:
    return QualityReport(resource_code=row.resource_code, version_number=row.version_number,
                         created_at=row.created_at, success=row.success, score=row.score,
                         scores=dict(row.scores or {}), row_count=row.row_count,
                         failed_rules=row.failed_rules, duration_ms=row.duration_ms, body=row.body)


def evaluate(session: Session, resource_code: str, version_number: int | None = None) -> QualityReport:
    """Run every rule over a stored version (default: current) and store the report."""
    started = time.monotonic()
    res = _resource(session, resource_code)
    if version_number is None:
        version = lake.current_version(session, resource_code)
        if version is None:
            raise NotFound("该资源还没有归集数据", code="no_data")
    else:
        version = lake.get_version(session, resource_code, version_number)
    rules = rules_for(session, resource_code, res)
    fields = {f.name: f for f in res.fields}
    labels = {f.name: f.label for f in res.fields}
    ctx = engine.Context(
        relation=(f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row "
                  f"FROM read_parquet({engine._lit(lake.parquet_glob(version))}, file_row_number=true))"),
        cast_failures=lake.cast_failures(session, resource_code, version.number),
        updated_at=version.created_at, now=utcnow(),
        mask_kinds={n: engine.mask_kind(f) for n, f in fields.items()},
        key_columns=[f.name for f in res.fields if f.is_key and f.name in version.columns],
    )
    runnable, broken = [], []
    for r in rules:
        missing = [c for c in r.columns if c and c not in version.columns]
        (broken if missing else runnable).append((r, missing))
        if r.type == "referential" and not missing:
            ref_v = lake.current_version(session, r.params.get("resource_code", ""))
            if ref_v is not None:
                ctx.ref_globs[r.key] = lake.parquet_glob(ref_v)
    results = engine.run(lake.macro_connection(), [r for r, _ in runnable], ctx)
    for r, missing in broken:
        results.append(engine.RuleResult(r, version.row_count, 0, 0,
                                         error=f"该版本没有信息项 {'、'.join(missing)}"))
    order = {r.key: i for i, r in enumerate(rules)}
    results.sort(key=lambda x: order[x.rule.key])
    meta = {"resource_code": resource_code, "resource_name": res.name, "version": version.number,
            "row_count": version.row_count, "run_time": utcnow().isoformat(),
            "data_asset_name": f"{resource_code}@v{version.number}", "engine": "duckdb"}
    body = engine.to_gx(results, labels, meta)
    dims, overall = engine.scores(results)
    duration = int((time.monotonic() - started) * 1000)
    body["meta"]["duration_ms"] = duration
    row = session.execute(select(ReportRow).where(ReportRow.resource_code == resource_code,
                                                  ReportRow.version_number == version.number)).scalar_one_or_none()
    if row is None:
        row = ReportRow(resource_code=resource_code, version_number=version.number)
        session.add(row)
    row.created_at, row.success, row.score = utcnow(), body["success"], overall
    row.scores = dict(dims)
    row.row_count = version.row_count
    row.failed_rules = body["statistics"]["unsuccessful_expectations"]
    row.duration_ms = duration
    row.body = json.loads(engine.dumps(body))  # as it reads back: dates and decimals as text
    session.flush()
    audit.record(session, "system", "quality.evaluate", "resource", resource_code,
                 {"version": version.number, "score": overall, "failed_rules": row.failed_rules})
    return _report_out(row)


def get_report(session: Session, resource_code: str, version_number: int) -> QualityReport:
    row = session.execute(select(ReportRow).where(ReportRow.resource_code == resource_code,
                                                  ReportRow.version_number == version_number)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"第 {version_number} 版没有质量报告", code="no_report")
    return _report_out(row)


def latest_report(session: Session, resource_code: str) -> QualityReport | None:
    cur = lake.current_version(session, resource_code)
    stmt = select(ReportRow).where(ReportRow.resource_code == resource_code)
    if cur is not None:
        row = session.execute(stmt.where(ReportRow.version_number == cur.number)).scalar_one_or_none()
        if row is not None:
            return _report_out(row)
    row = session.execute(stmt.order_by(ReportRow.version_number.desc()).limit(1)).scalar_one_or_none()
    return _report_out(row) if row else None


def score(session: Session, resource_code: str) -> float | None:
    rep = latest_report(session, resource_code)
    return rep.score if rep else None


def trend(session: Session, resource_code: str) -> list[dict[str, Any]]:
    """Scores of every stored report, oldest version first (for the trend chart)."""
    rows = session.execute(select(ReportRow.version_number, ReportRow.score, ReportRow.scores, ReportRow.row_count,
                                  ReportRow.failed_rules, ReportRow.created_at)
                           .where(ReportRow.resource_code == resource_code)
                           .order_by(ReportRow.version_number)).all()
    return [{"version": r[0], "score": r[1], "scores": dict(r[2] or {}), "row_count": r[3],
             "failed_rules": r[4], "created_at": r[5]} for r in rows]


def overview(session: Session) -> list[dict[str, Any]]:
    """Latest score per resource with data (quality home page and the cockpit)."""
    from citybase.catalog import service as catalog

    codes = lake.resources_with_data(session)
    out = []
    for res in catalog.get_many(session, codes):
        rep = latest_report(session, res.code)
        cur = lake.current_version(session, res.code)
        out.append({"code": res.code, "name": res.name, "provider_name": res.provider_name,
                    "provider_code": res.provider_code, "version": cur.number if cur else None,
                    "row_count": cur.row_count if cur else 0, "score": rep.score if rep else None,
                    "scores": rep.scores if rep else {}, "failed_rules": rep.failed_rules if rep else 0,
                    "evaluated_at": rep.created_at if rep else None})
    return out


# --------------------------------------------------------------------------- 一数一源

def _set_out(row: ConflictSet) -> ConflictSetOut:
    return ConflictSetOut(id=row.id, name=row.name, key_label=row.key_label, key_element=row.key_element,
                          value_element=row.value_element, members=list(row.members),
                          created_by=row.created_by, created_at=row.created_at)


def create_conflict_set(session: Session, principal: Principal, data: ConflictSetIn) -> ConflictSetOut:
    """Declare that several resources carry the same attribute for the same key, with source priority."""
    authorize(principal, "quality.rule_edit")
    if not (principal.is_system or identity.is_bureau_officer(session, principal)):
        raise PermissionDenied("一数一源的来源优先级由大数据管理局的数据管理员设定", code="not_bureau")
    for m in data.members:
        res = _resource(session, m.resource_code)
        names = {f.name for f in res.fields}
        for col in (m.key_column, m.value_column):
            if col not in names:
                raise BadInput(f"资源 {res.name} 没有信息项“{col}”", code="unknown_field")
    row = ConflictSet(name=data.name, key_label=data.key_label, key_element=data.key_element,
                      value_element=data.value_element,
                      members=[m.model_dump() for m in data.members],
                      created_by=principal.actor, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "quality.conflict_set", "conflict_set", row.id,
                 {"name": data.name, "members": [m.model_dump() for m in data.members]})
    return _set_out(row)


def list_conflict_sets(session: Session) -> list[ConflictSetOut]:
    return [_set_out(r) for r in session.execute(select(ConflictSet).order_by(ConflictSet.id)).scalars()]


def _norm_sql(expr: str, element: str) -> str:
    if element == "cn_id_card":
        return f"coalesce(cb_id_normalize({expr}), upper(trim(CAST({expr} AS VARCHAR))))"
    if element == "mobile":
        return f"coalesce(cb_mobile_normalize({expr}), trim(CAST({expr} AS VARCHAR)))"
    if element in ("uscc", "org_code"):
        return f"upper(trim(CAST({expr} AS VARCHAR)))"
    return f"trim(CAST({expr} AS VARCHAR))"


def find_conflicts(session: Session, principal: Principal, set_id: int, limit: int = 100) -> ConflictReport:
    """Keys whose value differs between sources, the winning value by priority (lower wins)."""
    authorize(principal, "quality.read")
    row = session.get(ConflictSet, set_id)
    if row is None:
        raise NotFound("找不到该一数一源规则", code="unknown_conflict_set")
    cs = _set_out(row)
    parts = []
    names: dict[str, tuple[str, str]] = {}
    for m in cs.members:
        v = lake.current_version(session, m.resource_code)
        res = _resource(session, m.resource_code)
        names[m.resource_code] = (res.name, res.provider_name)
        if v is None or m.key_column not in v.columns or m.value_column not in v.columns:
            continue
        parts.append(
            f"SELECT {_norm_sql(quote_ident(m.key_column), cs.key_element)} AS k, "
            f"{_norm_sql(quote_ident(m.value_column), cs.value_element)} AS v, "
            f"{engine._lit(m.resource_code)} AS src, {int(m.priority)} AS prio "
            f"FROM read_parquet({engine._lit(lake.parquet_glob(v))}) WHERE {quote_ident(m.key_column)} IS NOT NULL")
    if len(parts) < 2:
        return ConflictReport(set=cs, keys_compared=0, conflicts=0, rows=[])
    con = lake.macro_connection()
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE obs AS SELECT * FROM (" + " UNION ALL ".join(parts) + ") WHERE v IS NOT NULL "
                    "AND v <> ''")
        con.execute("CREATE OR REPLACE TEMP TABLE multi AS SELECT k FROM obs GROUP BY k HAVING count(DISTINCT src) > 1")
        compared = con.execute("SELECT count(*) FROM multi").fetchone()[0]
        con.execute("CREATE OR REPLACE TEMP TABLE bad AS SELECT k FROM obs SEMI JOIN multi USING (k) GROUP BY k "
                    "HAVING count(DISTINCT v) > 1")
        total = con.execute("SELECT count(*) FROM bad").fetchone()[0]
        detail = con.execute(f"SELECT o.k, o.src, o.v, o.prio FROM obs o SEMI JOIN (SELECT k FROM bad ORDER BY k "
                             f"LIMIT {int(limit)}) b USING (k) ORDER BY o.k, o.prio, o.src").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS obs; DROP TABLE IF EXISTS multi; DROP TABLE IF EXISTS bad")
    grouped: dict[str, list[tuple]] = {}
    for k, src, v, prio in detail:
        grouped.setdefault(k, []).append((src, v, prio))
    kind = element_mask_kind(cs.value_element)
    out_rows = []
    for k, items in grouped.items():
        best = min(items, key=lambda t: (t[2], t[0]))
        out_rows.append(ConflictRow(
            key=mask_value(element_mask_kind(cs.key_element), k) or "",
            values=[{"resource_code": s, "resource_name": names.get(s, ("", ""))[0],
                     "provider_name": names.get(s, ("", ""))[1], "value": mask_value(kind, v), "priority": p,
                     "wins": (s, v, p) == best} for s, v, p in items],
            winner=best[0]))
    return ConflictReport(set=cs, keys_compared=int(compared), conflicts=int(total), rows=out_rows)


# --------------------------------------------------------------------------- 数据异议

def _number(o: Objection) -> str:
    return f"YY{o.created_at.astimezone().strftime('%Y')}{o.id:05d}"


def _objection_out(session: Session, o: Objection, with_events: bool = False, res: Any = None) -> ObjectionOut:
    events = []
    if with_events:
        events = [ObjectionEventOut.model_validate(e) for e in session.execute(
            select(ObjectionEvent).where(ObjectionEvent.objection_id == o.id).order_by(ObjectionEvent.id)).scalars()]
    name, field_label = "", ""
    row_key = o.row_key
    try:
        res = res or _resource(session, o.resource_code)
        name = res.name
        field_label = next((f.label for f in res.fields if f.name == o.field_name), "")
        keyf = next((f for f in res.fields if f.is_key), None)
        if row_key and keyf is not None and engine.mask_kind(keyf):
            row_key = mask_value(engine.mask_kind(keyf), row_key) or ""
    except NotFound:
        pass
    now = utcnow()
    return ObjectionOut(id=o.id, number=_number(o), resource_code=o.resource_code, resource_name=name,
                        provider_code=o.provider_code, version_number=o.version_number, scope=o.scope,
                        row_key=row_key, field_name=o.field_name, field_label=field_label, description=o.description, evidence=o.evidence,
                        status=o.status, raised_by=o.raised_by, raised_org=o.raised_org, created_at=o.created_at,
                        deadline=o.deadline, overdue=(o.status == "open" and now > o.deadline), answer=o.answer,
                        answered_by=o.answered_by, answered_at=o.answered_at, fixed_version=o.fixed_version,
                        fixed_at=o.fixed_at, events=events)


def _event(session: Session, o: Objection, principal: Principal, action: str, from_status: str | None,
           note: str = "") -> None:
    session.add(ObjectionEvent(objection_id=o.id, at=utcnow(), actor=principal.actor, action=action,
                               from_status=from_status, to_status=o.status, note=note))


def raise_objection(session: Session, principal: Principal, data: ObjectionIn) -> ObjectionOut:
    """A consumer disputes a resource, a row or a field, with evidence; the provider must answer
    within ``CITYBASE_OBJECTION_WORKDAYS`` working days."""
    authorize(principal, "objection.raise")
    res = _resource(session, data.resource_code)
    if data.scope == "row" and not data.row_key:
        raise BadInput("对某条记录提出异议时，请填写该记录的主键值", code="row_key_required")
    if data.scope == "field" and data.field_name not in {f.name for f in res.fields}:
        raise BadInput("请选择有异议的信息项", code="field_required")
    version = data.version_number
    if version is None:
        cur = lake.current_version(session, res.code)
        version = cur.number if cur else None
    elif version is not None:
        lake.get_version(session, res.code, version)
    now = utcnow()
    o = Objection(resource_code=res.code, provider_code=res.provider_code, version_number=version, scope=data.scope,
                  row_key=data.row_key, field_name=data.field_name, description=data.description,
                  evidence=data.evidence, status="open", raised_by=principal.actor,
                  raised_org=principal.org_code or "", created_at=now,
                  deadline=workcal.add_workdays(session, now, get_settings().objection_workdays), answer="")
    session.add(o)
    session.flush()
    _event(session, o, principal, "raise", None, data.description[:500])
    audit.record(session, principal, "objection.raise", "objection", o.id,
                 {"resource": res.code, "scope": data.scope, "field": data.field_name, "version": version,
                  "deadline": o.deadline.isoformat()})
    return _objection_out(session, o, True, res)


def _load_objection(session: Session, objection_id: int) -> Objection:
    o = session.get(Objection, objection_id)
    if o is None:
        raise NotFound("找不到该数据异议", code="unknown_objection")
    return o


def _check_answerer(principal: Principal, o: Objection) -> None:
    authorize(principal, "objection.answer")
    if identity.is_provider(principal, o.provider_code):
        return
    raise PermissionDenied("只有数据提供部门的数据管理员可以答复该异议", code="not_provider")


def answer_objection(session: Session, principal: Principal, objection_id: int, *, accept: bool,
                     reason: str = "") -> ObjectionOut:
    """Accept (the provider will fix it in a later version) or reject with a reason."""
    o = _load_objection(session, objection_id)
    _check_answerer(principal, o)
    if o.status != "open":
        raise IllegalTransition("该异议已答复，不能重复答复", code="already_answered")
    reason = (reason or "").strip()
    if not accept and len(reason) < 2:
        raise BadInput("驳回异议必须填写理由", code="reason_required")
    before = o.status
    o.status = "accepted" if accept else "rejected"
    o.answer, o.answered_by, o.answered_at = reason, principal.actor, utcnow()
    _event(session, o, principal, "accept" if accept else "reject", before, reason)
    audit.record(session, principal, "objection.accept" if accept else "objection.reject", "objection", o.id,
                 {"resource": o.resource_code, "reason": reason,
                  "late": o.answered_at > o.deadline})
    return _objection_out(session, o, True)


def mark_fixed(session: Session, principal: Principal, objection_id: int, version_number: int,
               note: str = "") -> ObjectionOut:
    """Close an accepted objection with the later version that corrects the data."""
    o = _load_objection(session, objection_id)
    _check_answerer(principal, o)
    if o.status != "accepted":
        raise IllegalTransition("只有已采纳的异议可以标记为已修正", code="not_accepted")
    lake.get_version(session, o.resource_code, version_number)
    if o.version_number is not None and version_number <= o.version_number:
        raise BadInput(f"修正版本须晚于提出异议时的第 {o.version_number} 版", code="fix_version_too_old")
    before = o.status
    o.status, o.fixed_version, o.fixed_at = "fixed", version_number, utcnow()
    _event(session, o, principal, "fix", before, note or f"已在第 {version_number} 版修正")
    audit.record(session, principal, "objection.fix", "objection", o.id,
                 {"resource": o.resource_code, "version": version_number})
    return _objection_out(session, o, True)


def get_objection(session: Session, principal: Principal, objection_id: int) -> ObjectionOut:
    authorize(principal, "objection.read")
    o = _load_objection(session, objection_id)
    if not (principal.is_system or o.raised_by == principal.actor or principal.org_code in (o.provider_code,
            o.raised_org) or identity.is_bureau_officer(session, principal)):
        raise NotFound("找不到该数据异议", code="unknown_objection")
    return _objection_out(session, o, True)


def list_objections(session: Session, principal: Principal, *, box: str = "inbox",
                    status: str | None = None, resource_code: str | None = None) -> list[ObjectionOut]:
    """inbox: raised against my organisation's resources; outbox: raised by me; all: bureau officers."""
    authorize(principal, "objection.read")
    stmt = select(Objection).order_by(Objection.id.desc())
    if box == "inbox":
        stmt = stmt.where(Objection.provider_code == (principal.org_code or ""))
    elif box == "outbox":
        stmt = stmt.where(Objection.raised_by == principal.actor)
    elif box == "all":
        if not (principal.is_system or identity.is_bureau_officer(session, principal)):
            raise PermissionDenied("只有大数据管理局的数据管理员可以查看全部异议", code="not_bureau")
    else:
        raise BadInput("box 只能是 inbox、outbox 或 all", code="bad_box")
    if status:
        stmt = stmt.where(Objection.status == status)
    if resource_code:
        stmt = stmt.where(Objection.resource_code == resource_code)
    return [_objection_out(session, o) for o in session.execute(stmt.limit(500)).scalars()]


def open_objection_count(session: Session, org_code: str) -> int:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(Objection).where(
        Objection.provider_code == org_code, Objection.status == "open")).scalar_one()


def overdue_objections(session: Session, now: datetime | None = None) -> list[ObjectionOut]:
    now = now or utcnow()
    rows = session.execute(select(Objection).where(Objection.status == "open", Objection.deadline < now)).scalars()
    return [_objection_out(session, o) for o in rows]
