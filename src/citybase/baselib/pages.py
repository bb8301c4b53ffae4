"""Base-library pages: overview with coverage charts, and one library's sources, winners and records."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from citybase.baselib import service
from citybase.baselib.libraries import library
from citybase.core.errors import CitybaseError
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/baselib", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, principal: Principal = Depends(requires("baselib.read"))) -> Response:
    with make_session() as s:
        libs = service.status(s, principal)
    return render(request, "baselib/overview.html", {"libs": libs})


@router.get("/{key}", response_class=HTMLResponse)
def detail(request: Request, key: str, q: str | None = None, purpose: str = "",
           principal: Principal = Depends(requires("baselib.read"))) -> Response:
    lib = library(key)
    error = ""
    with make_session() as s:
        sources = service.list_sources(s, key)
        b = service.last_build(s, key)
        history = service.builds(s, key)
        records = service.can_see_records(s, principal, key)
        header, rows = [], []
        if records or q:
            try:
                header, rows = service.sample(s, principal, key, limit=20, record_key=(q or "")[:64] or None,
                                              purpose=purpose[:200])
            except CitybaseError as exc:
                error = exc.message
    return render(request, "baselib/detail.html", {"lib": lib, "sources": sources, "build": b, "history": history,
                                                   "header": header, "rows": rows, "q": q or "", "purpose": purpose,
                                                   "records": records, "flash": error, "flash_kind": "err",
                                                   "personal_key": lib.key_attr.mask_kind is not None,
                                                   "attr_labels": {a.name: a.label for a in lib.all_attrs},
                                                   "source_names": {x.resource_code: x.resource_name for x in sources}})


@router.post("/{key}/build", response_class=HTMLResponse)
def rebuild(key: str, principal: Principal = Depends(requires("baselib.manage"))) -> Response:
    try:
        with session_scope() as s:
            b = service.build(s, principal, key)
    except CitybaseError as exc:
        return flash.redirect(f"/baselib/{key}", exc.message, "err")
    return flash.redirect(f"/baselib/{key}", f"已完成第 {b.number} 次构建：{b.row_count} 条记录")
