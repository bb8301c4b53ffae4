"""HTTP behaviour: login, CSRF, forged cookies, tokens, uniform errors, deny by default."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from citybase.web.security import SESSION_COOKIE
from tests.conftest import csrf_of, login


def test_healthz_and_openapi(client):
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/users" in spec["paths"]
    docs = client.get("/docs")
    assert "/vendor/swagger/swagger-ui-bundle.js" in docs.text  # no CDN: the city network is closed
    assert client.get("/vendor/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/vendor/htmx/htmx.min.js").status_code == 200
    assert client.get("/vendor/echarts/echarts.min.js").status_code == 200


def test_login_page_is_chinese_and_wrong_password_is_clear(client):
    page = client.get("/login", headers={"accept": "text/html"})
    assert "登录城市数字底座" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "admin", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_login_form_without_csrf_is_refused(client):
    r = client.post("/login", data={"username": "admin", "password": "citybase2026"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_missing"
    r = client.post("/login", data={"username": "admin", "password": "citybase2026", "csrf_token": "forged"})
    assert r.json()["error"]["code"] == "csrf_invalid"


def test_session_post_needs_csrf(client):
    login(client, "admin")
    body = {"username": "newbie", "org_code": "320213", "role": "staff", "password": "abc12345"}
    r = client.post("/api/users", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_missing"
    r = client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "newbie"


def test_forged_session_cookie_is_refused(client):
    client.cookies.set(SESSION_COOKIE, "forged.value")
    r = client.get("/api/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_invalid"


def test_bearer_token_flow_and_errors(client):
    login(client, "admin")
    r = client.post("/api/tokens", json={"username": "gaj_officer", "expires_days": 7},
                    headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    machine = TestClient(client.app)
    me = machine.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "gaj_officer" and me.json()["via"] == "token"
    # a token holder acts without CSRF (no cookies involved)
    r = client.delete(f"/api/tokens/{token_id}", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200
    me = machine.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401 and me.json()["error"]["code"] == "token_revoked"
    bad = machine.get("/api/me", headers={"Authorization": "Bearer cbt_nonsense"})
    assert bad.json()["error"] == {"code": "token_invalid", "message": "API 令牌无效", "detail": {}}


def test_bad_input_is_4xx_with_stable_codes(client):
    login(client, "admin")
    h = {"X-CSRF-Token": csrf_of(client), "content-type": "application/json"}
    r = client.post("/api/users", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/api/users", json={"username": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = client.post("/api/users", json={"username": "abc", "org_code": "000000", "role": "staff",
                                        "password": "abc12345"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_org"
    r = client.post("/api/users", json={"username": "admin", "org_code": "320200", "role": "staff",
                                        "password": "abc12345"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_username"
    r = client.post("/api/orgs", content=b"x" * (21 * 1024 * 1024), headers=h)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = client.get("/api/nowhere")
    assert r.status_code == 404 and r.json()["error"]["message"]


def test_html_errors_render_as_pages(client):
    r = client.get("/nowhere", headers={"accept": "text/html"})
    assert r.status_code == 404 and "页面或接口不存在" in r.text and "not_found" in r.text
    r = client.get("/admin/users", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_admin_cannot_open_ledger_and_auditor_cannot_administer(client):
    login(client, "admin")
    assert client.get("/audit", headers={"accept": "text/html"}).status_code == 403
    assert client.get("/api/audit/entries").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, "auditor")
    assert client.get("/api/audit/entries").status_code == 200
    assert client.get("/admin/users", headers={"accept": "text/html"}).status_code == 403
    r = client.post("/api/users", json={"username": "sneaky", "org_code": "320200", "role": "admin",
                                        "password": "abc12345"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 403


def test_every_route_declares_a_permission():
    from fastapi import FastAPI

    from citybase.app import check_routes_declare_permissions

    app = FastAPI()
    router = APIRouter()

    @router.get("/leak")
    def leak() -> dict:
        return {}

    app.include_router(router)
    import pytest

    with pytest.raises(RuntimeError, match="/leak"):
        check_routes_declare_permissions(app)


def test_pages_are_compressed_but_data_downloads_are_not(client):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from citybase.app import SelectiveGZip

    page = client.get("/openapi.json", headers={"accept-encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"
    small = client.get("/login", headers={"accept": "text/html", "accept-encoding": "gzip"})
    assert len(small.content) < 2048 and "content-encoding" not in small.headers  # not worth compressing
    body = "编号,名称\n" * 5000

    def handler(request):
        return PlainTextResponse(body)

    inner = Starlette(routes=[Route("/api/exchange/data/x/export.csv", handler), Route("/open/page", handler)])
    c = TestClient(SelectiveGZip(inner))
    export = c.get("/api/exchange/data/x/export.csv", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in export.headers and export.text == body
    assert c.get("/open/page", headers={"accept-encoding": "gzip"}).headers["content-encoding"] == "gzip"


class LeanBody(BaseModel):
    text: str


def test_lean_route_refuses_endpoints_it_cannot_serve_faithfully():
    """web/lean.py serves only (one JSON body, one permission dependency) async endpoints; anything more
    (a query parameter, a router-level dependency) would be silently skipped, so it is refused."""
    from fastapi import Depends, FastAPI

    from citybase.web.lean import LeanRoute
    from citybase.web.security import requires

    router = APIRouter(route_class=LeanRoute)

    @router.post("/ok")
    async def ok(body: LeanBody, principal=Depends(requires("events.intake"))):  # noqa: ANN001, ANN202, B008
        return None

    FastAPI().include_router(router)  # the right shape builds
    with pytest.raises(TypeError, match="one JSON body"):
        @router.post("/query")
        async def query(body: LeanBody, page: int = 1, principal=Depends(requires("events.intake"))):  # noqa: ANN001, ANN202, B008
            return None
    guarded = APIRouter(route_class=LeanRoute)

    @guarded.post("/x")
    async def x(body: LeanBody, principal=Depends(requires("events.intake"))):  # noqa: ANN001, ANN202, B008
        return None

    app = FastAPI()
    app.include_router(guarded, dependencies=[Depends(requires("audit.verify"))])
    with pytest.raises(TypeError, match="one JSON body"):  # FastAPI builds an included route on first use
        TestClient(app).post("/x", json={"text": "a"})
