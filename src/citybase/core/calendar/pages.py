"""The admin's working-day override table (e.g. next year's 调休 before any package has it)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from citybase.core.calendar import service
from citybase.core.errors import BadInput
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/admin/calendar", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def calendar_page(request: Request, principal: Principal = Depends(requires("calendar.manage"))) -> Response:
    today = date.today()
    with make_session() as s:
        cal = service.calendar(s)
        rows = service.list_overrides(s)
    upcoming = [(today + timedelta(days=i), cal.is_workday(today + timedelta(days=i))) for i in range(28)]
    return render(request, "calendar/calendar.html", {"rows": rows, "upcoming": upcoming})


@router.post("", response_class=HTMLResponse)
def calendar_set(day: str = Form(...), is_workday: str = Form("0"), note: str = Form(""),
                 principal: Principal = Depends(requires("calendar.manage"))) -> Response:
    try:
        d = date.fromisoformat(day)
    except ValueError as exc:
        raise BadInput("日期格式应为 YYYY-MM-DD", code="bad_date") from exc
    with session_scope() as s:
        service.set_override(s, principal, d, is_workday == "1", note)
    return flash.redirect("/admin/calendar", f"已设置 {d.isoformat()}")
