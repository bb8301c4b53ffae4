"""Identity JSON API (thin: parse → service → schema)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from citybase.core.identity import service
from citybase.core.identity.principal import Principal
from citybase.core.identity.schemas import Me, OrgIn, OrgOut, TokenCreated, TokenIn, TokenOut, UserIn, UserOut
from citybase.db import make_session, session_scope
from citybase.web.security import requires

router = APIRouter(prefix="/api", tags=["identity 身份"])


@router.get("/me", response_model=Me, summary="当前用户信息")
def me(principal: Principal = Depends(requires("self.read"))) -> Me:
    return Me(username=principal.username, display_name=principal.display_name, role=principal.role,
              role_label=principal.role_label, org_code=principal.org_code, org_name=principal.org_name,
              via=principal.via)


@router.get("/orgs", response_model=list[OrgOut], summary="组织机构列表")
def orgs(kind: str | None = None, parent: str | None = None, q: str | None = None,
         principal: Principal = Depends(requires("org.read"))) -> list:
    with make_session() as s:
        return service.list_orgs(s, principal, kind=kind, parent_code=parent, q=q)


@router.post("/orgs", response_model=OrgOut, status_code=201, summary="新建组织机构")
def create_org(body: OrgIn, principal: Principal = Depends(requires("org.manage"))):
    with session_scope() as s:
        org = service.create_org(s, principal, **body.model_dump())
        return OrgOut.model_validate(org)


@router.get("/users", response_model=list[UserOut], summary="用户列表")
def users(org: str | None = None, role: str | None = None,
          principal: Principal = Depends(requires("user.read"))) -> list:
    with make_session() as s:
        return service.list_users(s, principal, org_code=org, role=role)


@router.post("/users", response_model=UserOut, status_code=201, summary="新建用户")
def create_user(body: UserIn, principal: Principal = Depends(requires("user.manage"))):
    with session_scope() as s:
        user = service.create_user(s, principal, **body.model_dump())
        return UserOut.model_validate(user)


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="签发 API 令牌")
def create_token(body: TokenIn, principal: Principal = Depends(requires("self.token"))):
    with session_scope() as s:
        row, plain = service.create_token(s, principal, body.username, name=body.name,
                                          expires_days=body.expires_days)
        return TokenCreated(token=plain, **TokenOut.model_validate(row).model_dump())


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="吊销 API 令牌")
def revoke_token(token_id: int, principal: Principal = Depends(requires("self.token"))):
    with session_scope() as s:
        return TokenOut.model_validate(service.revoke_token(s, principal, token_id))
