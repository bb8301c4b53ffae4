"""Access resolution: the explicit or implicit grant a department reads a resource through, its state and rate limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybase.catalog import service as catalog
from citybase.core.errors import NotFound, PermissionDenied
from citybase.core.identity.principal import Principal, authorize
from citybase.core.ratelimit import Quota, hit
from citybase.core.time import utcnow
from citybase.exchange.models import (
    ShareGrant,
)
from citybase.exchange.schemas import (
    GRANT_STATES,
    GrantOut,
)
from citybase.exchange.service.common import (
    IMPLICIT_RATE_LIMIT,
    _l,
    _org_names,
    _require_org,
    _resource,
)
from citybase.exchange.service.filters import _field_map, mask_kind, validate_filter
from citybase.lake import service as lake


@dataclass
class Access:
    """What one caller may read of one resource right now."""

    resource: Any
    version: Any
    grant: ShareGrant | None
    fields: list[str]
    clear_fields: list[str]
    filters: list[dict[str, Any]]
    purpose: str
    rate_limit: int
    consumer_code: str
    masked: dict[str, str] = field(default_factory=dict)  # field → mask kind

    @property
    def kind(self) -> str:
        return "grant" if self.grant is not None else "implicit"


def _grant_state(g: ShareGrant, now: datetime) -> str:
    if g.status == "revoked":
        return "revoked"
    if g.expires_at <= now:
        return "expired"
    return "active"


def resolve_access(session: Session, principal: Principal, code: str, grant_id: int | None = None) -> Access:
    """Who may read what: raises PermissionDenied with a reason the caller can act on."""
    authorize(principal, "exchange.read")
    org = _require_org(principal)
    res = _resource(session, code)
    if res.status != "published":
        raise NotFound(f"资源 {code} 未在目录中发布", code="unknown_resource", detail={"resource_code": code})
    if res.share_type == "不予共享":
        raise PermissionDenied(f"资源“{res.name}”属于不予共享类，依据：{res.share_basis}", code="not_shareable",
                               detail={"resource_code": code, "share_basis": res.share_basis})
    now = utcnow()
    grant: ShareGrant | None = None
    if grant_id is not None:
        grant = session.get(ShareGrant, grant_id)
        if grant is None or grant.consumer_code != org or grant.resource_code != code:
            raise PermissionDenied("该授权不存在或不属于本单位", code="unknown_grant", detail={"grant_id": grant_id})
        state = _grant_state(grant, now)
        if state == "revoked":
            raise PermissionDenied("该授权已被提供部门撤销", code="grant_revoked",
                                   detail={"grant_id": grant_id, "reason": grant.revoke_reason})
        if state == "expired":
            raise PermissionDenied("该授权已过期，请重新申请", code="grant_expired", detail={"grant_id": grant_id})
    else:
        grant = session.execute(
            select(ShareGrant).where(ShareGrant.resource_code == code, ShareGrant.consumer_code == org,
                                     ShareGrant.status == "active", ShareGrant.expires_at > now)
            .order_by(ShareGrant.id.desc()).limit(1)).scalar_one_or_none()
    if grant is None and res.share_type != "无条件共享" and org != res.provider_code:
        raise PermissionDenied(f"资源“{res.name}”为有条件共享，本单位尚无有效授权；请先提交共享申请",
                               code="no_grant", detail={"resource_code": code,
                                                         "apply_url": f"/exchange/request?resource={code}"})
    version = lake.current_version(session, code)
    if version is None:
        raise NotFound(f"资源“{res.name}”尚无数据", code="no_data", detail={"resource_code": code})
    stored = set(version.columns)
    ordered = [f.name for f in sorted(res.fields, key=lambda f: (f.position, f.name))]
    if grant is not None:
        allowed = set(_l(grant.fields)) or set(ordered)
        fields = [n for n in ordered if n in allowed and n in stored]
        clear = [n for n in _l(grant.clear_fields) if n in fields]
        filters = validate_filter(res, _l(grant.row_filter))
        purpose, limit = grant.purpose, grant.rate_limit_per_minute
    else:
        fields = [n for n in ordered if n in stored]
        clear, filters = [], []
        purpose = "本部门数据" if org == res.provider_code else "无条件共享"
        limit = IMPLICIT_RATE_LIMIT
    fmap = _field_map(res)
    masked = {n: k for n in fields if n not in clear and (k := mask_kind(fmap[n])) is not None}
    return Access(resource=res, version=version, grant=grant, fields=fields, clear_fields=clear, filters=filters,
                  purpose=purpose, rate_limit=limit, consumer_code=org, masked=masked)


def check_rate(access: Access, principal: Principal) -> Quota:
    key = f"exchange:{access.grant.id if access.grant else 'implicit:' + access.resource.code}:{access.consumer_code}"
    quota = hit(key, access.rate_limit)
    quota.raise_if_exceeded("调用过于频繁，已超过授权的每分钟调用次数")
    return quota


def _grant_out(session: Session, g: ShareGrant, names: dict[str, str] | None = None, res: Any = None) -> GrantOut:
    names = names if names is not None else _org_names(session)
    if res is None:
        res = catalog.find_resource(session, g.resource_code)
    state = _grant_state(g, utcnow())
    return GrantOut(id=g.id, resource_code=g.resource_code, resource_name=res.name if res else g.resource_code,
                    provider_code=g.provider_code, provider_name=names.get(g.provider_code, g.provider_code),
                    consumer_code=g.consumer_code, consumer_name=names.get(g.consumer_code, g.consumer_code),
                    request_id=g.request_id, fields=_l(g.fields), clear_fields=_l(g.clear_fields),
                    row_filter=_l(g.row_filter), purpose=g.purpose, legal_basis=g.legal_basis,
                    expires_at=g.expires_at, rate_limit_per_minute=g.rate_limit_per_minute, status=state,
                    status_label=GRANT_STATES[state], created_at=g.created_at, created_by=g.created_by,
                    revoked_at=g.revoked_at, revoked_by=g.revoked_by, revoke_reason=g.revoke_reason,
                    field_labels={f.name: f.label for f in res.fields} if res else {})


def clear_grant_purpose(session: Session, principal: Principal, code: str, field: str) -> str | None:
    """The purpose of an active grant to the caller's organisation that names ``field`` of ``code``
    in clear (the newest), or None."""
    if not principal.org_code:
        return None
    now = utcnow()
    for g in session.execute(select(ShareGrant).where(
            ShareGrant.resource_code == code, ShareGrant.consumer_code == principal.org_code,
            ShareGrant.status == "active", ShareGrant.expires_at > now).order_by(ShareGrant.id.desc())).scalars():
        if field in _l(g.clear_fields):
            return g.purpose or "已授权"
    return None
