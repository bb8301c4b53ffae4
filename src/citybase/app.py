"""FastAPI app factory: mounts each module's JSON router and pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citybase import __version__
from citybase.config import get_settings
from citybase.core.errors import TooLarge
from citybase.db import make_session
from citybase.modules import rooms
from citybase.web import errors
from citybase.web.security import ANON_COOKIE, SESSION_COOKIE, public


class BodyLimit:
    """Refuse request bodies over the configured size before reading them into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge(detail={"limit_bytes": self.limit})
            return message

        await self.app(scope, limited, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        err = TooLarge(detail={"limit_bytes": self.limit})
        response = JSONResponse(err.to_dict(), status_code=err.status_code)
        await response(scope, receive, send)


class SecurityHeaders:
    """Security headers on every response, and the cookies request handlers asked for through
    ``request.state`` (the anonymous-visitor nonce; clearing a dead session). Plain ASGI: the
    ``@app.middleware("http")`` form costs a task and a response copy per request."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"same-origin"))

    def __init__(self, app: ASGIApp, cookie_secure: bool = False) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
                state = scope.get("state") or {}
                if state.get("new_anon_nonce") or state.get("clear_session_cookie"):
                    cookies = Response()  # formats Set-Cookie exactly as Starlette does
                    if state.get("new_anon_nonce"):
                        cookies.set_cookie(ANON_COOKIE, state["new_anon_nonce"], httponly=True, samesite="lax",
                                           secure=self.cookie_secure, max_age=86400 * 30)
                    if state.get("clear_session_cookie"):
                        cookies.delete_cookie(SESSION_COOKIE)
                    for value in cookies.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SelectiveGZip:
    """GZip pages, JSON and map GeoJSON, but not data downloads: those are streamed at full speed
    (compressing a 100 MB CSV export on the fly would cost more CPU than the export itself)."""

    SKIP_SUFFIXES = (".csv", ".parquet", ".zip", ".xlsx", ".jsonl", ".ttl")
    SKIP_PARTS = ("/export", "/download")

    def __init__(self, app: ASGIApp, minimum_size: int = 2048) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.endswith(self.SKIP_SUFFIXES) or any(p in path for p in self.SKIP_PARTS):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


def _vendor_dirs() -> dict[str, Path]:
    from citybase.reference.divisions import npm_root

    try:
        root = npm_root() / "node_modules"
    except Exception:  # noqa: BLE001 - assets are optional for API-only use
        return {}
    found = {"htmx": root / "htmx.org" / "dist", "echarts": root / "echarts" / "dist",
             "swagger": root / "swagger-ui-dist"}
    return {k: v for k, v in found.items() if v.is_dir()}


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(title="citybase 城市数字底座", version=__version__, docs_url=None, redoc_url=None,
                  description="城市数字底座 API。错误统一为 {\"error\": {\"code\", \"message\", \"detail\"}}。")
    errors.install(app)

    @app.get("/healthz", tags=["系统 system"], dependencies=[Depends(public)], summary="健康检查")
    def healthz() -> dict:
        with make_session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": settings.db_url.split(":", 1)[0]}

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    def docs() -> Response:
        # served from the npm package: the city network has no CDN
        return get_swagger_ui_html(openapi_url="/openapi.json", title="citybase API 文档",
                                   swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/vendor/swagger/swagger-ui.css",
                                   swagger_favicon_url="/vendor/swagger/favicon-32x32.png")

    # FastAPI matches a request against the routes one by one, in order, and a match costs a few
    # microseconds: by the events module's intake API, ~100 earlier routes took a third of the
    # request's CPU. A module's ``priority_router`` (high-rate machine endpoints) goes first.
    mods = [mod for room in ("views", "pages") for mod in rooms(room)]
    for mod in mods:
        if hasattr(mod, "priority_router"):
            app.include_router(mod.priority_router)
    for mod in mods:
        app.include_router(mod.router)

    static = Path(__file__).parent / "web" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    for key, folder in _vendor_dirs().items():
        app.mount(f"/vendor/{key}", StaticFiles(directory=folder), name=f"vendor-{key}")

    check_routes_declare_permissions(app)
    app.add_middleware(SelectiveGZip, minimum_size=2048)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, cookie_secure=settings.cookie_secure)
    return app


def check_routes_declare_permissions(app: FastAPI) -> None:
    """Deny by default: every route must declare a permission (or say it is public)."""
    missing = []
    for route in _api_routes(app.routes):
        declared = [d.call for d in route.dependant.dependencies if hasattr(d.call, "cb_permission")]
        if not declared:
            missing.append(f"{sorted(route.methods)} {route.path}")
    if missing:
        raise RuntimeError("routes without a declared permission: " + ", ".join(missing))


def _api_routes(routes: list) -> list[APIRoute]:
    """Every APIRoute, including those inside included routers (FastAPI keeps them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found
