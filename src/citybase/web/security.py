"""Request authentication, CSRF and the route-level permission dependency.

Every route declares ``Depends(requires("perm"))`` or ``Depends(public)``; the app factory refuses
to start if a route declares neither (deny by default).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool

from citybase.config import get_settings
from citybase.core.errors import NotAuthenticated, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.principal import ANON, Principal, authorize
from citybase.core.keyfile import read_or_create
from citybase.db import make_session

SESSION_COOKIE = "cb_session"
ANON_COOKIE = "cb_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def secret_key() -> str:
    s = get_settings()
    if s.secret_key:
        return s.secret_key
    path: Path = s.keys_dir / "secret_key"
    return read_or_create(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(), salt="citybase-session")


def sign_session(cookie_secret: str) -> str:
    return _signer().dumps(cookie_secret)


def _unsign_session(value: str) -> str:
    try:
        data = _signer().loads(value)
    except BadSignature as exc:
        raise NotAuthenticated("会话凭据无效或被篡改，请重新登录", code="session_invalid") from exc
    if not isinstance(data, str):
        raise NotAuthenticated("会话凭据无效或被篡改，请重新登录", code="session_invalid")
    return data


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if the request has one."""
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def resolve_principal(request: Request) -> Principal:
    """Bearer token first, then the session cookie, else anonymous. Cached on the request."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANON
    token = _bearer(request)
    if token is not None:
        with make_session() as s:
            principal = identity.resolve_token(s, token)
    elif SESSION_COOKIE in request.cookies:
        secret = _unsign_session(request.cookies[SESSION_COOKIE])
        with make_session() as s:
            principal = identity.resolve_session(s, secret) or ANON
        if principal is ANON:
            request.state.clear_session_cookie = True
    request.state.principal = principal
    return principal


async def resolve_principal_async(request: Request) -> Principal:
    """:func:`resolve_principal` for async code: a token or session lookup reads the database, so it
    runs in the thread pool instead of blocking the event loop (and every other request) meanwhile."""
    if getattr(request.state, "principal", None) is None:
        token = _bearer(request)
        if token is not None:  # looked up moments ago: no database, no thread
            hit = identity.cached_token(get_settings().db_url, token)
            if hit is not None:
                request.state.principal = hit
                return hit
        if request.headers.get("authorization") or SESSION_COOKIE in request.cookies:
            return await run_in_threadpool(resolve_principal, request)
    return resolve_principal(request)


def csrf_token(request: Request) -> str:
    """The token forms must echo: bound to the session, or to the anonymous visitor's cookie."""
    principal = resolve_principal(request)
    if principal.session_id:
        basis = "s:" + principal.session_id
    else:
        nonce = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon_nonce", None)
        if not nonce:
            nonce = secrets.token_urlsafe(18)
            request.state.new_anon_nonce = nonce
        basis = "a:" + nonce
    return hmac.new(secret_key().encode(), basis.encode(), hashlib.sha256).hexdigest()


async def check_csrf(request: Request) -> None:
    if request.method not in UNSAFE:
        return
    principal = resolve_principal(request)
    ctype = request.headers.get("content-type", "")
    is_form = ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if principal.via == "token" or (principal.via != "session" and not is_form):
        return  # a Bearer token or a cookie-less JSON call cannot be forged cross-site: browsers never add either
    sent = request.headers.get(CSRF_HEADER)
    if not sent and is_form:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent:
        raise PermissionDenied("缺少防跨站请求伪造令牌，请刷新页面后重试", code="csrf_missing")
    if not hmac.compare_digest(sent, csrf_token(request)):
        raise PermissionDenied("防跨站请求伪造令牌无效，请刷新页面后重试", code="csrf_invalid")


def requires(permission: str) -> Callable:
    """Route dependency: the caller must hold ``permission``. Returns the Principal."""

    async def dependency(request: Request) -> Principal:
        principal = await resolve_principal_async(request)
        authorize(principal, permission)
        await check_csrf(request)
        return principal

    dependency.cb_permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"requires_{permission.replace('.', '_')}"
    return dependency


async def _public(request: Request) -> Principal:
    principal = await resolve_principal_async(request)
    await check_csrf(request)
    return principal


_public.cb_permission = "public"  # type: ignore[attr-defined]
public = _public


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
