"""Developer API keys (self-service) and rate limits per key and per IP."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core import ratelimit
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, NotAuthenticated
from citybase.core.identity.principal import Principal, authorize
from citybase.core.time import utcnow
from citybase.opendata.models import Developer

KEY_PREFIX = "cbod_"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def register(session: Session, principal: Principal, name: str, email: str, purpose: str = "") -> tuple[Developer, str]:
    """A new developer account; returns the row and the key (shown once, stored hashed)."""
    authorize(principal, "public")
    name = (name or "").strip()
    if not 2 <= len(name) <= 60:
        raise BadInput("开发者名称须为 2–60 个字", code="bad_name")
    email = (email or "").strip()
    if not EMAIL_RE.match(email):
        raise BadInput("请填写有效的电子邮箱", code="bad_email")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    row = Developer(name=name, email=email, purpose=(purpose or "").strip()[:500], key_prefix=key[:12],
                    key_hash=_hash(key), rate_limit=get_settings().opendata_key_rpm, active=True, calls=0, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, principal, "opendata.developer_register", "opendata_developer", str(row.id),
                 {"name": name, "key_prefix": row.key_prefix})
    return row, key


def resolve_key(session: Session, key: str) -> Developer:
    row = session.execute(select(Developer).where(Developer.key_hash == _hash(key.strip()))).scalar_one_or_none()
    if row is None or not row.active:
        raise NotAuthenticated("API 密钥无效或已停用", code="bad_api_key")
    return row


def touch(session: Session, developer_id: int) -> None:
    session.execute(update(Developer).where(Developer.id == developer_id)
                    .values(calls=Developer.calls + 1, last_used_at=utcnow()))


def quota(developer: Developer | None, ip: str) -> ratelimit.Quota:
    """One call counted: per key when a key is given (the key's own limit), else per IP."""
    if developer is not None:
        return ratelimit.hit(f"opendata:key:{developer.id}", developer.rate_limit)
    return ratelimit.hit(f"opendata:ip:{ip}", get_settings().opendata_ip_rpm)


def list_developers(session: Session) -> list[Developer]:
    return list(session.execute(select(Developer).order_by(Developer.id.desc())).scalars())
