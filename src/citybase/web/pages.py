"""Shell pages: home, login, logout."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from citybase.config import get_settings
from citybase.core.identity import service as identity
from citybase.core.identity.models import Organisation, User
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import SESSION_COOKIE, client_ip, public, sign_session
from citybase.web.templating import register_nav, render

router = APIRouter(include_in_schema=False)

register_nav("首页", "/", None, 0)
register_nav("数据目录", "/catalog", "portal.read", 10, ready=False)
register_nav("数据治理", "/quality", "portal.read", 20, ready=False)
register_nav("共享交换", "/exchange", "portal.read", 30, ready=False)
register_nav("开放平台", "/open", None, 40, ready=False)
register_nav("一网统管", "/events", "portal.read", 50, ready=False)
register_nav("物联感知", "/iot", "portal.read", 60, ready=False)
register_nav("驾驶舱", "/cockpit", "portal.read", 70, ready=False)


def _safe_next(value: str | None) -> str:
    if not value:
        return "/"
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Principal = Depends(public)) -> Response:
    with make_session() as s:
        counts = dict(s.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all())
        users = s.execute(select(func.count()).select_from(User)).scalar_one()
    figures = [
        {"label": "区（县级市）", "value": counts.get("district", 0)},
        {"label": "街道 / 镇", "value": counts.get("street", 0)},
        {"label": "部门", "value": counts.get("department", 0)},
        {"label": "用户", "value": users},
    ]
    return render(request, "home.html", {"figures": figures})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, principal: Principal = Depends(public)) -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                 next: str = Form("/"), principal: Principal = Depends(public)) -> Response:
    with session_scope() as s:
        result = identity.login(s, username, password, client=client_ip(request))
    if result.error is not None:
        return render(request, "login.html", {"error": result.error.message, "username": username,
                                              "next": _safe_next(next)}, status_code=401)
    assert result.cookie_secret is not None
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, sign_session(result.cookie_secret), httponly=True, samesite="lax",
                        secure=get_settings().cookie_secure, max_age=get_settings().session_hours * 3600)
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Depends(public)) -> Response:
    with session_scope() as s:
        identity.logout(s, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
