"""Admin pages: organisations, users, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citybase.core.errors import CitybaseError
from citybase.core.identity import service
from citybase.core.identity.principal import Principal
from citybase.core.identity.roles import ROLE_LABELS, Role
from citybase.db import make_session, session_scope
from citybase.web import flash
from citybase.web.security import requires
from citybase.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

KIND_ORDER = ["city", "district", "street", "community", "department"]


@router.get("", response_class=HTMLResponse)
def admin_home(principal: Principal = Depends(requires("user.manage"))) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/orgs", response_class=HTMLResponse)
def orgs_page(request: Request, kind: str | None = None, q: str | None = None, parent: str | None = None,
              principal: Principal = Depends(requires("org.read"))) -> Response:
    with make_session() as s:
        orgs = service.list_orgs(s, principal, kind=kind or None, q=q or None, parent_code=parent or None)
        names = {o.code: o.name for o in service.all_orgs(s)}
    return render(request, "identity/orgs.html", {"orgs": orgs, "names": names, "kind": kind or "", "q": q or "",
                                                  "kinds": service.ORG_KINDS})


@router.post("/orgs", response_class=HTMLResponse)
def orgs_create(request: Request, code: str = Form(""), name: str = Form(""), kind: str = Form("department"),
                parent_code: str = Form(""), principal: Principal = Depends(requires("org.manage"))) -> Response:
    try:
        with session_scope() as s:
            service.create_org(s, principal, code=code, name=name, kind=kind, parent_code=parent_code or None)
    except CitybaseError as exc:
        with make_session() as s:
            orgs = service.list_orgs(s, principal, kind=kind)
            names = {o.code: o.name for o in service.all_orgs(s)}
        return render(request, "identity/orgs.html", {"orgs": orgs, "names": names, "kind": kind, "q": "",
                                                      "kinds": service.ORG_KINDS, "flash": exc.message,
                                                      "flash_kind": "err", "form": {"code": code, "name": name}},
                      status_code=exc.status_code)
    return flash.redirect(f"/admin/orgs?kind={kind}", f"已创建机构 {name}")


def _users_ctx(principal: Principal, **extra) -> dict:
    with make_session() as s:
        users = service.list_users(s, principal)
        orgs = service.all_orgs(s)
    ctx = {"users": users, "orgs": orgs, "names": {o.code: o.name for o in orgs},
           "roles": [(r.value, ROLE_LABELS[r]) for r in Role], "role_labels": {r.value: ROLE_LABELS[r] for r in Role}}
    ctx.update(extra)
    return ctx


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, principal: Principal = Depends(requires("user.manage"))) -> Response:
    return render(request, "identity/users.html", _users_ctx(principal))


@router.post("/users", response_class=HTMLResponse)
def users_create(request: Request, username: str = Form(""), display_name: str = Form(""),
                 org_code: str = Form(""), role: str = Form(""), password: str = Form(""),
                 principal: Principal = Depends(requires("user.manage"))) -> Response:
    try:
        with session_scope() as s:
            service.create_user(s, principal, username=username, org_code=org_code.split(" ")[0], role=role,
                                password=password, display_name=display_name or None)
    except CitybaseError as exc:
        form = {"username": username, "display_name": display_name, "org_code": org_code, "role": role}
        return render(request, "identity/users.html",
                      _users_ctx(principal, flash=exc.message, flash_kind="err", form=form),
                      status_code=exc.status_code)
    return flash.redirect("/admin/users", f"已创建用户 {username}")


@router.post("/users/{username}/active", response_class=HTMLResponse)
def users_active(username: str, active: str = Form("1"), principal: Principal = Depends(requires("user.manage"))):
    with session_scope() as s:
        service.set_user_active(s, principal, username, active == "1")
    return flash.redirect("/admin/users", f"已更新用户 {username}")


@router.post("/users/{username}/unlock", response_class=HTMLResponse)
def users_unlock(username: str, principal: Principal = Depends(requires("user.manage"))):
    with session_scope() as s:
        service.unlock_user(s, principal, username)
    return flash.redirect("/admin/users", f"已解锁用户 {username}")


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, principal: Principal = Depends(requires("token.manage"))) -> Response:
    with make_session() as s:
        tokens = service.list_tokens(s, principal)
        users = {u.id: u.username for u in service.list_users(s, principal)}
    return render(request, "identity/tokens.html", {"tokens": tokens, "users": users})


@router.post("/tokens", response_class=HTMLResponse)
def tokens_create(request: Request, username: str = Form(""), name: str = Form(""), expires_days: int = Form(90),
                  principal: Principal = Depends(requires("token.manage"))) -> Response:
    try:
        with session_scope() as s:
            row, plain = service.create_token(s, principal, username, name=name, expires_days=expires_days)
    except CitybaseError as exc:
        with make_session() as s:
            tokens = service.list_tokens(s, principal)
            users = {u.id: u.username for u in service.list_users(s, principal)}
        return render(request, "identity/tokens.html", {"tokens": tokens, "users": users, "flash": exc.message,
                                                        "flash_kind": "err"}, status_code=exc.status_code)
    with make_session() as s:
        tokens = service.list_tokens(s, principal)
        users = {u.id: u.username for u in service.list_users(s, principal)}
    return render(request, "identity/tokens.html", {"tokens": tokens, "users": users, "new_token": plain,
                                                    "new_for": username}, status_code=201)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def tokens_revoke(token_id: int, principal: Principal = Depends(requires("token.manage"))):
    with session_scope() as s:
        service.revoke_token(s, principal, token_id)
    return flash.redirect("/admin/tokens", f"已吊销令牌 {token_id}")
