"""数据治理 pages: overview, quality report with charts, rules, objection inbox, 一数一源 conflicts."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citybase.config import get_settings
from citybase.core.errors import BadInput, CitybaseError, NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from citybase.quality import service
from citybase.quality.rules import DIMENSIONS, ELEMENT_LABELS, RULE_TYPES
from citybase.quality.schemas import OBJECTION_STATUS, SCOPES, ObjectionIn, RuleIn
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(include_in_schema=False)


def _res(s: Any, code: str) -> Any:
    from citybase.catalog import service as catalog

    return catalog.get_resource(s, code)


@router.get("/quality", response_class=HTMLResponse)
def overview(request: Request, principal: Principal = Depends(requires("quality.read"))) -> Response:
    with make_session() as s:
        items = service.overview(s)
        inbox = service.open_objection_count(s, principal.org_code or "") if principal.can("objection.read") else 0
        sets = service.list_conflict_sets(s)
    chart = {"names": [i["name"] for i in items], "scores": [i["score"] for i in items]}
    return render(request, "quality/overview.html", {"items": items, "inbox": inbox, "sets": sets,
                                                     "chart": json.dumps(chart, ensure_ascii=False),
                                                     "dims": DIMENSIONS})


@router.get("/quality/objections", response_class=HTMLResponse)
def objections(request: Request, box: str = "inbox", status: str = "",
               principal: Principal = Depends(requires("objection.read"))) -> Response:
    with make_session() as s:
        items = service.list_objections(s, principal, box=box, status=status or None)
        bureau = identity.is_bureau_officer(s, principal)
    return render(request, "quality/objections.html", {"items": items, "box": box, "status": status,
                                                       "statuses": OBJECTION_STATUS, "bureau": bureau,
                                                       "scopes": SCOPES})


@router.get("/quality/objections/new", response_class=HTMLResponse)
def objection_form(request: Request, resource: str, field: str = "", row: str = "",
                   principal: Principal = Depends(requires("objection.raise"))) -> Response:
    with make_session() as s:
        res = _res(s, resource)
    return render(request, "quality/objection_new.html", {"r": res, "field": field, "row": row, "scopes": SCOPES,
                                                          "days": get_settings().objection_workdays})


@router.post("/quality/objections/new", response_class=HTMLResponse)
async def objection_create(request: Request, principal: Principal = Depends(requires("objection.raise"))) -> Response:
    form = await request.form()
    data = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        body = ObjectionIn(resource_code=data.get("resource_code", ""), scope=data.get("scope", "resource"),
                           row_key=data.get("row_key", ""), field_name=data.get("field_name", ""),
                           description=data.get("description", ""), evidence=data.get("evidence", ""))
        with session_scope() as s:
            out = service.raise_objection(s, principal, body)
    except (CitybaseError, ValueError) as exc:
        with make_session() as s:
            res = _res(s, data.get("resource_code", ""))
        msg = exc.message if isinstance(exc, CitybaseError) else "请填写异议说明（至少 2 个字）"
        return render(request, "quality/objection_new.html", {"r": res, "field": data.get("field_name", ""),
                                                              "row": data.get("row_key", ""), "scopes": SCOPES,
                                                              "days": get_settings().objection_workdays, "form": data,
                                                              "flash": msg, "flash_kind": "err"}, status_code=422)
    return RedirectResponse(f"/quality/objections/{out.id}", status_code=303)


@router.get("/quality/objections/{objection_id}", response_class=HTMLResponse)
def objection_detail(request: Request, objection_id: int,
                     principal: Principal = Depends(requires("objection.read"))) -> Response:
    with make_session() as s:
        o = service.get_objection(s, principal, objection_id)
        versions = lake.list_versions(s, o.resource_code) if o.status == "accepted" else []
    can_answer = principal.can("objection.answer") and identity.is_provider(principal, o.provider_code)
    return render(request, "quality/objection.html", {"o": o, "can_answer": can_answer, "statuses": OBJECTION_STATUS,
                                                      "versions": [v for v in versions
                                                                   if v.number > (o.version_number or 0)]})


@router.post("/quality/objections/{objection_id}/answer")
async def objection_answer(request: Request, objection_id: int,
                           principal: Principal = Depends(requires("objection.answer"))) -> Response:
    form = await request.form()
    accept = form.get("decision") == "accept"
    with session_scope() as s:
        service.answer_objection(s, principal, objection_id, accept=accept, reason=str(form.get("reason") or ""))
    return RedirectResponse(f"/quality/objections/{objection_id}", status_code=303)


@router.post("/quality/objections/{objection_id}/fixed")
async def objection_fixed(request: Request, objection_id: int,
                          principal: Principal = Depends(requires("objection.answer"))) -> Response:
    form = await request.form()
    try:
        version = int(str(form.get("version") or "0"))
    except ValueError:
        raise BadInput("请选择修正后的版本", code="bad_version") from None
    with session_scope() as s:
        service.mark_fixed(s, principal, objection_id, version, str(form.get("note") or ""))
    return RedirectResponse(f"/quality/objections/{objection_id}", status_code=303)


@router.get("/quality/conflicts", response_class=HTMLResponse)
def conflicts(request: Request, set_id: int | None = None,
              principal: Principal = Depends(requires("quality.read"))) -> Response:
    with make_session() as s:
        sets = service.list_conflict_sets(s)
        chosen = set_id or (sets[0].id if sets else None)
        report = service.find_conflicts(s, principal, chosen) if chosen else None
        names = {}
        for cs in sets:
            for m in cs.members:
                try:
                    names[m.resource_code] = _res(s, m.resource_code).name
                except NotFound:
                    names[m.resource_code] = m.resource_code
    return render(request, "quality/conflicts.html", {"sets": sets, "report": report, "chosen": chosen,
                                                      "names": names})


@router.get("/quality/{code}", response_class=HTMLResponse)
def report_page(request: Request, code: str, version: int | None = None,
                principal: Principal = Depends(requires("quality.read"))) -> Response:
    with make_session() as s:
        res = _res(s, code)
        versions = lake.list_versions(s, code)
        rep = None
        if versions:
            number = version or next((v.number for v in versions if v.is_current), versions[0].number)
            try:
                rep = service.get_report(s, code, number)
            except NotFound:
                rep = None
        trend = service.trend(s, code)
        rules = service.list_rules(s, code)
        can_edit = principal.can("quality.rule_edit") and (
            identity.provider_or_bureau(s, principal, res.provider_code))
        can_read_data = lake.can_read(s, principal, res)
    labels = {f.name: f.label for f in res.fields}
    chart = {
        "dims": [DIMENSIONS[d] for d in (rep.scores if rep else {})],
        "dim_scores": list((rep.scores if rep else {}).values()),
        "trend_x": [f"v{t['version']}" for t in trend],
        "trend": {DIMENSIONS[d]: [t["scores"].get(d) for t in trend] for d in DIMENSIONS},
        "trend_score": [t["score"] for t in trend],
        "score": rep.score if rep else None,
    }
    return render(request, "quality/report.html", {
        "r": res, "rep": rep, "versions": versions, "rules": rules, "labels": labels, "can_edit": can_edit,
        "can_read_data": can_read_data, "chart": json.dumps(chart, ensure_ascii=False), "rule_types": RULE_TYPES,
        "elements": ELEMENT_LABELS, "dims": DIMENSIONS})


@router.post("/quality/{code}/rules")
async def add_rule(request: Request, code: str, principal: Principal = Depends(requires("quality.rule_edit"))) -> Response:
    form = await request.form()
    f = {k: str(v).strip() for k, v in form.items()}
    cols = [c for c in (f.get("column", ""), f.get("column2", ""), f.get("column3", "")) if c]
    params: dict[str, Any] = {}
    for k in ("pattern", "min_value", "max_value", "values", "resource_code", "ref_column", "element", "mostly"):
        if f.get(k):
            params[k] = f[k]
    try:
        with session_scope() as s:
            service.add_rule(s, principal, code, RuleIn(rule_type=f.get("rule_type", ""), columns=cols, params=params,
                                                         label=f.get("label", "")))
            service.evaluate(s, code)
        msg = "已添加规则并重新检核"
    except (CitybaseError, ValueError) as exc:
        return flash.redirect(f"/quality/{code}#rules",
                              "错误：" + (exc.message if isinstance(exc, CitybaseError) else "规则参数不完整"), "err")
    return flash.redirect(f"/quality/{code}#rules", msg)


@router.post("/quality/{code}/rules/{rule_id}/delete")
def delete_rule(code: str, rule_id: int, principal: Principal = Depends(requires("quality.rule_edit"))) -> Response:
    with session_scope() as s:
        service.remove_rule(s, principal, rule_id)
        service.evaluate(s, code)
    return RedirectResponse(f"/quality/{code}#rules", status_code=303)


@router.post("/quality/{code}/evaluate")
def evaluate(code: str, version: int | None = None,
             principal: Principal = Depends(requires("quality.rule_edit"))) -> Response:
    with session_scope() as s:
        service._check_steward(s, principal, _res(s, code))
        rep = service.evaluate(s, code, version)
    return RedirectResponse(f"/quality/{code}?version={rep.version_number}", status_code=303)
