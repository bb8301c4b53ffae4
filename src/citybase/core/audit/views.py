"""Ledger JSON API for the auditor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from citybase.core.audit import service
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import requires

router = APIRouter(prefix="/api/audit", tags=["audit 审计"])


@router.get("/entries", summary="查询审计记录")
def entries(page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500), actor: str | None = None,
            action: str | None = None, object_type: str | None = None, object_id: str | None = None,
            principal: Principal = Depends(requires("audit.read"))) -> dict:
    with make_session() as s:
        p = service.list_entries(s, principal, actor=actor, action=action, object_type=object_type,
                                 object_id=object_id, page=page, size=size)
        return {"total": p.total, "page": p.page, "size": p.size,
                "items": [{"seq": e.seq, "time": e.ts, "actor": e.actor, "action": e.action,
                           "object_type": e.object_type, "object_id": e.object_id, "detail": e.detail,
                           "entry_hash": e.entry_hash, "chain_hash": e.chain_hash} for e in p.items]}


@router.post("/verify", summary="校验审计账本完整性")
def verify(principal: Principal = Depends(requires("audit.verify"))) -> dict:
    with session_scope() as s:
        report = service.verify(s)
        service.record(s, principal, "audit.verify", "audit_ledger", "ledger",
                       {"ok": report.ok, "checked": report.checked, "first_bad_seq": report.first_bad_seq})
        return report.as_dict()
