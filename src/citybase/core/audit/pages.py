"""The auditor's ledger pages: browse, verify, export checkpoints."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from citybase.core.audit import labels, service
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal
from citybase.core.time import local_iso
from citybase.db import make_session, session_scope
from citybase.hooks import relay
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)


def _bounds(date_from: str, date_to: str) -> tuple[str | None, str | None]:
    """Local (Asia/Shanghai) calendar days → the ledger's UTC ISO bounds; bad dates are ignored."""
    from datetime import date, datetime, time, timedelta

    from citybase.core.time import SHANGHAI

    def at(text: str, days: int) -> str | None:
        try:
            d = date.fromisoformat(text.strip()) + timedelta(days=days)
        except ValueError:
            return None
        return datetime.combine(d, time.min, SHANGHAI).astimezone(UTC).isoformat(timespec="microseconds")

    return (at(date_from, 0) if date_from else None), (at(date_to, 1) if date_to else None)


def _filters(s: Session, actor: str, action: str, org: str, date_from: str, date_to: str) -> dict[str, Any]:
    since, until = _bounds(date_from, date_to)
    actors = (relay().ledger_org_members(session=s, org_code=org) or []) if org else None
    return {"actor": actor.strip() or None, "action": action or None, "actors": actors, "since": since,
            "until": until}


def _people(s: Session, entries: list[Any]) -> dict[str, tuple[str, str]]:
    """actor → (display name, organisation) for the entries shown (the user directory answers)."""
    actors = sorted({e.actor for e in entries})
    found = relay().ledger_people(session=s, actors=actors) or {}
    return {a: found.get(a, (a, "")) for a in actors}


@router.get("", response_class=HTMLResponse)
def ledger_page(request: Request, page: int = 1, actor: str = "", action: str = "", org: str = "",
                date_from: str = "", date_to: str = "",
                principal: Principal = Depends(requires("audit.read"))) -> Response:
    actor, action, org = actor[:120], action[:40], org[:40]
    with make_session() as s:
        entries = service.list_entries(s, principal, page=max(1, min(page, 100_000)), size=50,
                                       **_filters(s, actor, action, org, date_from[:10], date_to[:10]))
        people = _people(s, entries.items)
        orgs = relay().ledger_orgs(session=s) or []
        alerts = service.list_entries(s, principal, action="security.alert", size=1).total
    rows = [{"e": e, "action": labels.action_label(e.action), "who": people[e.actor],
             "object": labels.object_label(e.object_type), "pairs": labels.detail_pairs(e.detail),
             "result": labels.result_of(e.action, _json(e.detail))} for e in entries.items]
    query = urlencode({k: v for k, v in {"actor": actor, "action": action, "org": org, "date_from": date_from,
                                         "date_to": date_to}.items() if v})
    return render(request, "audit/ledger.html", {
        "entries": entries, "rows": rows, "actor": actor, "action": action, "org": org, "date_from": date_from,
        "date_to": date_to, "areas": labels.area_choices(), "orgs": orgs, "query": query, "alerts": alerts})


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@router.get("/export.{fmt}")
def export_entries(fmt: str, actor: str = "", action: str = "", org: str = "", date_from: str = "",
                   date_to: str = "", principal: Principal = Depends(requires("audit.export"))) -> Response:
    """The filtered view as CSV (UTF-8 with BOM) or XLSX; the export itself goes on the ledger."""
    if fmt not in ("csv", "xlsx"):
        raise BadInput("导出格式只能是 csv 或 xlsx", code="bad_format")
    with session_scope() as s:
        filters = _filters(s, actor[:120], action[:40], org[:40], date_from[:10], date_to[:10])
        entries = service.iter_entries(s, principal, **filters)
        people = _people(s, entries)
        head = ["序号", "时间", "操作人", "单位", "操作", "操作代码", "对象类型", "对象", "结果", "详情", "链哈希"]
        body = [[e.seq, local_iso(e.ts), people[e.actor][0], people[e.actor][1], labels.action_label(e.action),
                 e.action, labels.object_label(e.object_type), e.object_id, labels.result_of(e.action, _json(e.detail)),
                 "；".join(f"{k}：{v}" for k, v in labels.detail_pairs(e.detail)), e.chain_hash] for e in entries]
        service.record(s, principal, "audit.export", "audit_ledger", "ledger",
                       {"format": fmt, "entries": len(entries),
                        "filters": {k: v for k, v in {"actor": actor, "action": action, "org": org,
                                                      "date_from": date_from, "date_to": date_to}.items() if v}})
    name = f"审计记录.{fmt}"
    disp = {"Content-Disposition": f"attachment; filename=\"audit.{fmt}\"; filename*=UTF-8''{quote(name)}"}
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(head)
        w.writerows(body)
        return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers=disp)
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计记录")
    ws.append(head)
    for r in body:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), headers=disp,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/verify", response_class=HTMLResponse)
def verify_page(request: Request, principal: Principal = Depends(requires("audit.verify"))) -> Response:
    with session_scope() as s:
        service.checkpoint(s, principal)
        report = service.verify(s)
        service.record(s, principal, "audit.verify", "audit_ledger", "ledger",
                       {"ok": report.ok, "checked": report.checked, "first_bad_seq": report.first_bad_seq})
    return render(request, "audit/_verify.html", {"report": report})


@router.get("/checkpoints.json")
def export_page(principal: Principal = Depends(requires("audit.export"))) -> Response:
    with session_scope() as s, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkpoints.json"
        service.export_checkpoints(s, path)
        service.record(s, principal, "audit.export_checkpoints", "audit_ledger", "ledger", {})
        body = path.read_bytes()
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="citybase-checkpoints.json"'})
