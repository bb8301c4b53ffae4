"""Shell pages: home, login, logout."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citybase.config import get_settings
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.web.security import SESSION_COOKIE, client_ip, public, sign_session
from citybase.web.templating import render

router = APIRouter(include_in_schema=False)


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
        counts = identity.counts(s)
        users = counts["users"]
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
