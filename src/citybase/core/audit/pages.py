"""The auditor's ledger pages: browse, verify, export checkpoints."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from citybase.core.audit import service
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def ledger_page(request: Request, page: int = 1, actor: str | None = None, action: str | None = None,
                object_type: str | None = None, principal: Principal = Depends(requires("audit.read"))) -> Response:
    with make_session() as s:
        entries = service.list_entries(s, principal, actor=actor or None, action=action or None,
                                       object_type=object_type or None, page=page, size=50)
    return render(request, "audit/ledger.html", {"entries": entries, "actor": actor or "", "action": action or "",
                                                 "object_type": object_type or ""})


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
