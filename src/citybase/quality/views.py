"""数据治理 JSON API: GX-shaped reports, rules, 一数一源 conflicts, 数据异议."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from citybase.core.errors import NotFound
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.lake import service as lake
from citybase.quality import service, xlsx_report
from citybase.quality.schemas import (
    ConflictReport,
    ConflictSetIn,
    ConflictSetOut,
    ObjectionIn,
    ObjectionOut,
    RuleIn,
    RuleOut,
)
from citybase.web.security import requires

router = APIRouter(prefix="/api/quality", tags=["quality 数据治理"])


class AnswerIn(BaseModel):
    accept: bool
    reason: str = ""


class FixedIn(BaseModel):
    version: int
    note: str = ""


def _version_or_current(s: Any, code: str, version: int | None) -> int:
    if version is not None:
        return version
    cur = lake.current_version(s, code)
    if cur is None:
        raise NotFound("该资源还没有归集数据", code="no_data")
    return cur.number


@router.get("/overview", summary="数据质量总览")
def overview(principal: Principal = Depends(requires("quality.read"))) -> list[dict[str, Any]]:
    with make_session() as s:
        return service.overview(s)


@router.get("/resources/{code}/report", summary="质量报告")
def report(code: str, version: int | None = None,
           principal: Principal = Depends(requires("quality.read"))) -> dict[str, Any]:
    """The Great-Expectations-shaped validation result of a version (default: current)."""
    with make_session() as s:
        return service.get_report(s, code, _version_or_current(s, code, version)).as_gx()


@router.get("/resources/{code}/report.xlsx", summary="下载质量报告 Excel")
def report_xlsx(code: str, version: int | None = None,
                principal: Principal = Depends(requires("quality.read"))) -> Response:
    with make_session() as s:
        n = _version_or_current(s, code, version)
        data = xlsx_report.build(s, code, n)
    name = f"quality-{code}-v{n}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={name}; "
                                                    f"filename*=UTF-8''%E6%95%B0%E6%8D%AE%E8%B4%A8%E9%87%8F%E6%A3%80%E6%A0%B8%E6%8A%A5%E5%91%8A-{name}"})


@router.post("/resources/{code}/evaluate", summary="重新质量检核")
def evaluate(code: str, version: int | None = None,
             principal: Principal = Depends(requires("quality.rule_edit"))) -> dict[str, Any]:
    with session_scope() as s:
        service._check_steward(s, principal, service._resource(s, code))
        return service.evaluate(s, code, version).as_gx()


@router.get("/resources/{code}/trend", summary="质量趋势")
def trend(code: str, principal: Principal = Depends(requires("quality.read"))) -> list[dict[str, Any]]:
    with make_session() as s:
        return service.trend(s, code)


@router.get("/resources/{code}/rules", response_model=list[RuleOut], summary="自定义质量规则列表")
def rules(code: str, principal: Principal = Depends(requires("quality.read"))) -> list[RuleOut]:
    with make_session() as s:
        return service.list_rules(s, code)


@router.post("/resources/{code}/rules", response_model=RuleOut, status_code=201, summary="新增质量规则")
def add_rule(code: str, body: RuleIn, principal: Principal = Depends(requires("quality.rule_edit"))) -> RuleOut:
    with session_scope() as s:
        return service.add_rule(s, principal, code, body)


@router.delete("/rules/{rule_id}", status_code=204, summary="删除质量规则")
def remove_rule(rule_id: int, principal: Principal = Depends(requires("quality.rule_edit"))) -> Response:
    with session_scope() as s:
        service.remove_rule(s, principal, rule_id)
    return Response(status_code=204)


@router.get("/conflict-sets", response_model=list[ConflictSetOut], summary="一数一源规则列表")
def conflict_sets(principal: Principal = Depends(requires("quality.read"))) -> list[ConflictSetOut]:
    with make_session() as s:
        return service.list_conflict_sets(s)


@router.post("/conflict-sets", response_model=ConflictSetOut, status_code=201, summary="新建一数一源规则")
def create_conflict_set(body: ConflictSetIn,
                        principal: Principal = Depends(requires("quality.rule_edit"))) -> ConflictSetOut:
    with session_scope() as s:
        return service.create_conflict_set(s, principal, body)


@router.get("/conflict-sets/{set_id}/conflicts", response_model=ConflictReport, summary="一数一源冲突明细")
def conflicts(set_id: int, limit: int = 100,
              principal: Principal = Depends(requires("quality.read"))) -> ConflictReport:
    with make_session() as s:
        return service.find_conflicts(s, principal, set_id, limit=max(1, min(limit, 1000)))


@router.get("/objections", response_model=list[ObjectionOut], summary="数据异议列表")
def objections(box: str = "inbox", status: str | None = None, resource: str | None = None,
               principal: Principal = Depends(requires("objection.read"))) -> list[ObjectionOut]:
    with make_session() as s:
        return service.list_objections(s, principal, box=box, status=status, resource_code=resource)


@router.post("/objections", response_model=ObjectionOut, status_code=201, summary="提出数据异议")
def raise_objection(body: ObjectionIn,
                    principal: Principal = Depends(requires("objection.raise"))) -> ObjectionOut:
    with session_scope() as s:
        return service.raise_objection(s, principal, body)


@router.get("/objections/{objection_id}", response_model=ObjectionOut, summary="数据异议详情")
def objection(objection_id: int, principal: Principal = Depends(requires("objection.read"))) -> ObjectionOut:
    with make_session() as s:
        return service.get_objection(s, principal, objection_id)


@router.post("/objections/{objection_id}/answer", response_model=ObjectionOut, summary="答复数据异议")
def answer(objection_id: int, body: AnswerIn,
           principal: Principal = Depends(requires("objection.answer"))) -> ObjectionOut:
    with session_scope() as s:
        return service.answer_objection(s, principal, objection_id, accept=body.accept, reason=body.reason)


@router.post("/objections/{objection_id}/fixed", response_model=ObjectionOut, summary="确认异议已整改")
def fixed(objection_id: int, body: FixedIn,
          principal: Principal = Depends(requires("objection.answer"))) -> ObjectionOut:
    with session_scope() as s:
        return service.mark_fixed(s, principal, objection_id, body.version, body.note)
