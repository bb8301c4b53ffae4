"""Identity services: organisations, users, login, sessions and API tokens.

Every state change checks permission and writes the audit ledger in the caller's transaction.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from citybase.config import get_settings
from citybase.core.audit import service as audit
from citybase.core.errors import BadInput, Conflict, NotAuthenticated, NotFound, PermissionDenied
from citybase.core.identity.models import ApiToken, Organisation, User, WebSession
from citybase.core.identity.principal import ANON, Principal, authorize
from citybase.core.identity.roles import Role, parse_role
from citybase.db import clear_now_and_after_commit
from citybase.standards.crypto import sm3_hex

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
ORG_KINDS = {"city": "市", "district": "区（县级市）", "street": "街道/镇", "community": "社区/村",
             "department": "部门"}
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
TOKEN_PREFIX = "cbt_"


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- passwords

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise BadInput("密码至少 8 位，且须同时包含字母和数字", code="weak_password")


def _verify_password(hash_: str | None, password: str) -> bool:
    if not hash_:
        return False
    try:
        return _hasher.verify(hash_, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- organisations

def find_org(session: Session, code: str) -> Organisation | None:
    """The organisation with this code, or None."""
    return session.get(Organisation, code)


def first_org(session: Session, kind: str) -> Organisation | None:
    """The organisation of this kind with the lowest code (the demo's first street), or None."""
    return session.execute(select(Organisation).where(Organisation.kind == kind)
                           .order_by(Organisation.code).limit(1)).scalar_one_or_none()


def counts(session: Session) -> dict[str, int]:
    """How many organisations of each kind there are, and how many users (``"users"``)."""
    out = dict(session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all())
    out["users"] = session.execute(select(func.count()).select_from(User)).scalar_one()
    return out


def get_org(session: Session, code: str) -> Organisation:
    org = session.get(Organisation, code)
    if org is None:
        raise NotFound(f"机构代码不存在：{code}", code="unknown_org", detail={"org_code": code})
    return org


def list_orgs(session: Session, principal: Principal, kind: str | None = None,
              parent_code: str | None = None, q: str | None = None) -> list[Organisation]:
    authorize(principal, "org.read")
    stmt = select(Organisation).order_by(Organisation.code)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if parent_code:
        stmt = stmt.where(Organisation.parent_code == parent_code)
    if q:
        stmt = stmt.where(Organisation.name.contains(q) | Organisation.code.startswith(q))
    return list(session.execute(stmt).scalars())


def all_orgs(session: Session) -> list[Organisation]:
    """Organisation names are public reference data (every module shows them)."""
    return list(session.execute(select(Organisation).order_by(Organisation.code)).scalars())


def org_children(session: Session, code: str) -> list[Organisation]:
    return list(session.execute(select(Organisation).where(Organisation.parent_code == code)
                                .order_by(Organisation.code)).scalars())


def org_ancestors(session: Session, code: str) -> list[Organisation]:
    """The organisation and its parents up to the city, nearest first."""
    chain: list[Organisation] = []
    org = session.get(Organisation, code)
    while org is not None and len(chain) < 10:
        chain.append(org)
        org = session.get(Organisation, org.parent_code) if org.parent_code else None
    return chain


def create_org(session: Session, principal: Principal, *, code: str, name: str, kind: str,
               parent_code: str | None = None, division_code: str | None = None) -> Organisation:
    authorize(principal, "org.manage")
    code, name = code.strip(), name.strip()
    if not re.fullmatch(r"[0-9A-Za-z\-_.]{2,40}", code):
        raise BadInput("机构代码只能包含字母、数字和 - _ .，长度 2–40", code="bad_org_code")
    if not name:
        raise BadInput("机构名称不能为空", code="empty_name")
    if kind not in ORG_KINDS:
        raise BadInput(f"未知机构类型：{kind}", code="bad_org_kind", detail={"allowed": list(ORG_KINDS)})
    if session.get(Organisation, code) is not None:
        raise Conflict(f"机构代码已存在：{code}", code="duplicate_org")
    if parent_code:
        get_org(session, parent_code)
    org = Organisation(code=code, name=name, kind=kind, parent_code=parent_code or None,
                       division_code=division_code)
    session.add(org)
    session.flush()
    audit.record(session, principal, "org.create", "organisation", code,
                 {"name": name, "kind": kind, "parent": parent_code})
    return org


def update_org(session: Session, principal: Principal, code: str, *, name: str | None = None,
               active: bool | None = None) -> Organisation:
    authorize(principal, "org.manage")
    org = get_org(session, code)
    changes = {}
    if name is not None and name.strip() and name.strip() != org.name:
        changes["name"] = [org.name, name.strip()]
        org.name = name.strip()
    if active is not None and active != org.active:
        changes["active"] = [org.active, active]
        org.active = active
    if changes:
        forget_cached_tokens(session)
        audit.record(session, principal, "org.update", "organisation", code, changes)
    return org


def load_reference_orgs(session: Session, principal: Principal, city_code: str) -> dict[str, int]:
    """Create the city's organisation tree from reference data; existing codes are left alone."""
    from citybase.reference import departments as ref_departments
    from citybase.reference import divisions as ref_divisions

    authorize(principal, "org.manage")
    profile = ref_divisions.city_profile(city_code)
    existing = set(session.execute(select(Organisation.code)).scalars())
    rows: list[Organisation] = []

    def add(code: str, name: str, kind: str, parent: str | None, division: str | None) -> None:
        if code not in existing:
            rows.append(Organisation(code=code, name=name, kind=kind, parent_code=parent,
                                     division_code=division))
            existing.add(code)

    add(profile.code, profile.name, "city", None, profile.code)
    for d in profile.districts:
        add(d.code, d.name, "district", profile.code, d.code)
    for st in ref_divisions.streets(city_code):
        add(st.code, st.name, "street", st.district_code, st.code)
    for dept in ref_departments.departments(city_code):
        add(dept.code, dept.name, "department", dept.parent_code, dept.division_code)
    # parents first so foreign keys hold on every database
    order = {"city": 0, "district": 1, "street": 2, "department": 3}
    rows.sort(key=lambda o: order.get(o.kind, 9))
    for org in rows:
        session.add(org)
        session.flush()
    counts: dict[str, int] = {}
    for org in rows:
        counts[org.kind] = counts.get(org.kind, 0) + 1
    if rows:
        audit.record(session, principal, "org.load_reference", "organisation", city_code, counts)
    return counts


# ---------------------------------------------------------------- users

def find_user(session: Session, username: str) -> User | None:
    """The user with this username, or None."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def get_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"用户不存在：{username}", code="unknown_user", detail={"username": username})
    return user


def list_users(session: Session, principal: Principal, org_code: str | None = None,
               role: str | None = None) -> list[User]:
    authorize(principal, "user.read")
    stmt = select(User).order_by(User.username)
    if org_code:
        stmt = stmt.where(User.org_code == org_code)
    if role:
        stmt = stmt.where(User.role == role)
    return list(session.execute(stmt).scalars())


def users_in_org(session: Session, org_code: str, role: str | None = None) -> list[User]:
    """For modules that route work to an organisation's people (no personal data beyond names)."""
    stmt = select(User).where(User.org_code == org_code, User.active.is_(True))
    if role:
        stmt = stmt.where(User.role == role)
    return list(session.execute(stmt.order_by(User.username)).scalars())


def create_user(session: Session, principal: Principal, *, username: str, org_code: str, role: str,
                password: str | None, display_name: str | None = None, password_hash: str | None = None) -> User:
    """``password_hash`` (a hash from ``hash_password``) lets bulk provisioning hash a shared initial
    password once instead of once per account; it must be an argon2 hash."""
    authorize(principal, "user.manage")
    if password_hash is not None and not password_hash.startswith("$argon2"):
        raise BadInput("密码哈希必须是 argon2 格式", code="bad_password_hash")
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise BadInput("用户名须为 3–64 位字母、数字或 _ . -", code="bad_username")
    role_value = parse_role(role).value
    get_org(session, org_code)
    if session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
        raise Conflict(f"用户名已存在：{username}", code="duplicate_username")
    if password is not None:
        check_password_policy(password)
    if password_hash is None and password:
        password_hash = hash_password(password)
    user = User(username=username, display_name=(display_name or username).strip(), org_code=org_code,
                role=role_value, password_hash=password_hash)
    session.add(user)
    session.flush()
    audit.record(session, principal, "user.create", "user", username,
                 {"org": org_code, "role": role_value})
    return user


def set_password(session: Session, principal: Principal, username: str, password: str) -> None:
    user = get_user(session, username)
    if principal.user_id != user.id:
        authorize(principal, "user.manage")
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(WebSession.__table__.delete().where(WebSession.user_id == user.id))
    audit.record(session, principal, "user.set_password", "user", username, {})


def set_user_active(session: Session, principal: Principal, username: str, active: bool) -> User:
    authorize(principal, "user.manage")
    user = get_user(session, username)
    if principal.user_id == user.id and not active:
        raise BadInput("不能停用自己的账号", code="cannot_disable_self")
    user.active = active
    forget_cached_tokens(session)
    if not active:
        session.execute(WebSession.__table__.delete().where(WebSession.user_id == user.id))
    audit.record(session, principal, "user.activate" if active else "user.deactivate", "user", username, {})
    return user


def unlock_user(session: Session, principal: Principal, username: str) -> None:
    authorize(principal, "user.manage")
    user = get_user(session, username)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, principal, "user.unlock", "user", username, {})


def principal_for(user: User, via: str, **kw) -> Principal:
    return Principal(username=user.username, role=user.role, user_id=user.id,
                     display_name=user.display_name, org_code=user.org_code,
                     org_name=user.org.name if user.org else "", via=via, **kw)


# ---------------------------------------------------------------- login and sessions

@dataclass
class LoginResult:
    """The outcome of a login attempt. A failure is returned, not raised, so that the caller
    commits the failure count, the lockout and their audit entries before showing the error."""

    principal: Principal | None = None
    cookie_secret: str | None = None
    session_id: str | None = None
    error: NotAuthenticated | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def login(session: Session, username: str, password: str, client: str = "") -> LoginResult:
    """Check a password; lock the account after repeated failures. Audited either way."""
    settings = get_settings()
    username = username.strip()[:64]
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    now = _now()
    if user is None:
        _verify_password(_DUMMY_HASH, password)  # same work whether or not the user exists
        audit.record(session, ANON, "auth.login_failed", "user", username, {"reason": "unknown", "client": client})
        return LoginResult(error=NotAuthenticated("用户名或密码错误", code="bad_credentials"))
    if user.locked_until and user.locked_until > now:
        audit.record(session, ANON, "auth.login_locked", "user", user.username, {"client": client})
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(error=NotAuthenticated(f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试",
                                                  code="account_locked", detail={"retry_minutes": minutes}))
    if not user.active:
        audit.record(session, ANON, "auth.login_failed", "user", user.username, {"reason": "inactive"})
        return LoginResult(error=NotAuthenticated("账号已停用，请联系系统管理员", code="account_disabled"))
    if not _verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        detail = {"reason": "password", "failures": user.failed_logins, "client": client}
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            detail["locked_until"] = user.locked_until.isoformat()
            audit.record(session, ANON, "auth.account_locked", "user", user.username, detail)
            return LoginResult(error=NotAuthenticated(
                f"连续登录失败次数过多，账号已锁定 {settings.login_lockout_minutes} 分钟", code="account_locked",
                detail={"retry_minutes": settings.login_lockout_minutes}))
        audit.record(session, ANON, "auth.login_failed", "user", user.username, detail)
        return LoginResult(error=NotAuthenticated("用户名或密码错误", code="bad_credentials"))
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    secret = secrets.token_urlsafe(32)
    sid = sm3_hex(secret.encode())
    session.add(WebSession(id=sid, user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                           expires_at=now + timedelta(hours=settings.session_hours)))
    principal = principal_for(user, "session", session_id=sid)
    audit.record(session, principal, "auth.login", "user", user.username, {"client": client})
    return LoginResult(principal=principal, cookie_secret=secret, session_id=sid)


_DUMMY_HASH = _hasher.hash("citybase-dummy-password-0")


def resolve_session(session: Session, cookie_secret: str) -> Principal | None:
    sid = sm3_hex(cookie_secret.encode())
    row = session.get(WebSession, sid)
    if row is None or row.expires_at <= _now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return principal_for(user, "session", session_id=sid)


def session_csrf(session: Session, session_id: str) -> str | None:
    row = session.get(WebSession, session_id)
    return row.csrf_token if row else None


def logout(session: Session, principal: Principal) -> None:
    if principal.session_id:
        row = session.get(WebSession, principal.session_id)
        if row is not None:
            session.delete(row)
            audit.record(session, principal, "auth.logout", "user", principal.username, {})


# ---------------------------------------------------------------- API tokens

def create_token(session: Session, principal: Principal, username: str, *, name: str = "",
                 expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Return the row and the plaintext token. The plaintext is shown once and never stored."""
    user = get_user(session, username)
    if principal.user_id != user.id:
        authorize(principal, "token.manage")
    else:
        authorize(principal, "self.token")
    days = get_settings().token_default_days if expires_days is None else expires_days
    if not 1 <= days <= 3650:
        raise BadInput("有效期须在 1 到 3650 天之间", code="bad_expiry", detail={"expires_days": days})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:80], token_hash=sm3_hex(plain.encode()),
                   prefix=plain[:10], expires_at=_now() + timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, principal, "token.create", "api_token", row.id,
                 {"user": username, "name": row.name, "expires_at": row.expires_at.isoformat()})
    return row, plain


def list_tokens(session: Session, principal: Principal, username: str | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if username is None or username != principal.username:
        authorize(principal, "token.manage")
    if username:
        stmt = stmt.where(ApiToken.user_id == get_user(session, username).id)
    return list(session.execute(stmt).scalars())


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("令牌不存在", code="unknown_token", detail={"token_id": token_id})
    if principal.user_id != row.user_id:
        authorize(principal, "token.manage")
    if row.revoked_at is None:
        row.revoked_at = _now()
        forget_cached_tokens(session)
        audit.record(session, principal, "token.revoke", "api_token", row.id, {"user": row.user.username})
    return row


# token digest → principal, for a few seconds: an API client sends the same token with every
# request, and resolving it (a joined query) was a quarter of an intake request's cost. Revoking a
# token, disabling a user or changing an organisation clears this process's cache at once (and
# again after commit); other worker processes see the change within CITYBASE_TOKEN_CACHE_SECONDS.
_TOKEN_CACHE: dict[tuple[str, str], tuple[float, Principal, datetime | None]] = {}
_TOKEN_CACHE_MAX = 10_000


def forget_cached_tokens(session: Session | None = None) -> None:
    """Drop cached token lookups now and, given the session, again when it commits."""
    if session is None:
        _TOKEN_CACHE.clear()
    else:
        clear_now_and_after_commit(session, _TOKEN_CACHE)


def cached_token(database: str, plain: str) -> Principal | None:
    """The principal of a token looked up in this process less than ``token_cache_seconds`` ago (and
    not expired since), without touching the database; None when it must be looked up."""
    return _cached((database, sm3_hex(plain.encode())))


def _cached(key: tuple[str, str]) -> Principal | None:
    hit = _TOKEN_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < get_settings().token_cache_seconds and (hit[2] is None or hit[2] > _now()):
        return hit[1]
    return None


def resolve_token(session: Session, plain: str) -> Principal:
    if not plain.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("API 令牌无效", code="token_invalid")
    digest = sm3_hex(plain.encode())
    key = (get_settings().db_url, digest)  # the database the session's engine serves
    hit = _cached(key)
    if hit is not None:
        return hit
    principal, expires_at = _resolve_token_row(session, digest)
    if len(_TOKEN_CACHE) >= _TOKEN_CACHE_MAX:
        _TOKEN_CACHE.clear()
    _TOKEN_CACHE[key] = (time.monotonic(), principal, expires_at)
    return principal


def _resolve_token_row(session: Session, digest: str) -> tuple[Principal, datetime | None]:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)
                          .options(joinedload(ApiToken.user).joinedload(User.org))).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise NotAuthenticated("API 令牌无效", code="token_invalid")
    if row.revoked_at is not None:
        raise NotAuthenticated("API 令牌已被吊销", code="token_revoked")
    if row.expires_at is not None and row.expires_at <= _now():
        raise NotAuthenticated("API 令牌已过期", code="token_expired")
    if not row.user.active:
        raise NotAuthenticated("令牌所属账号已停用", code="account_disabled")
    return principal_for(row.user, "token", token_id=row.id), row.expires_at


def ensure_admin(session: Session, password: str, username: str = "admin", org_code: str | None = None) -> bool:
    """Create the first admin at the big-data bureau (idempotent). Returns True when created."""
    from citybase.core.identity.principal import SYSTEM

    if session.execute(select(User.id).where(User.username == username)).first():
        return False
    if org_code is None:
        org_code = bureau_code(session)
    create_user(session, SYSTEM, username=username, org_code=org_code, role=Role.ADMIN.value,
                password=password, display_name="系统管理员")
    return True


def in_bureau(session: Session, principal: Principal) -> bool:
    """Whether ``principal`` works at the city's big-data bureau (False before init)."""
    if not principal.org_code:
        return False
    try:
        return principal.org_code == bureau_code(session)
    except PermissionDenied:
        return False


def is_bureau_officer(session: Session, principal: Principal) -> bool:
    """A data officer (首席数据官) of the big-data bureau: reviews, overviews, cross-department reads."""
    return principal.role == Role.DATA_OFFICER.value and in_bureau(session, principal)


def is_provider(principal: Principal, provider_code: str | None) -> bool:
    """The organisation that provides a resource (or the system itself) acting on it."""
    return principal.is_system or (principal.org_code is not None and principal.org_code == provider_code)


def provider_or_bureau(session: Session, principal: Principal, provider_code: str | None) -> bool:
    """The provider's own organisation, or a data officer of the big-data bureau: who may read a
    resource's stored data, keep its quality rules and see who read it."""
    return is_provider(principal, provider_code) or is_bureau_officer(session, principal)


def bureau_code(session: Session) -> str:
    """The city's big-data bureau (市大数据管理局), or the city itself before it exists."""
    from citybase.reference.departments import BUREAU_KEY

    city = get_settings().city_code
    code = f"{city}-{BUREAU_KEY}"
    if session.get(Organisation, code) is not None:
        return code
    if session.get(Organisation, city) is not None:
        return city
    raise PermissionDenied("机构数据尚未加载，请先运行 citybase init", code="not_initialised")
