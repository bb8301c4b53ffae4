"""Identity services: organisations, users, passwords, lockout, tokens, role separation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citybase.config import get_settings
from citybase.core.errors import BadInput, Conflict, NotAuthenticated, NotFound, PermissionDenied
from citybase.core.identity import service as identity
from citybase.core.identity.models import ApiToken, Organisation, User
from citybase.core.identity.principal import ANON, SYSTEM, authorize
from citybase.db import make_session, session_scope


def _principal(username: str):
    with make_session() as s:
        return identity.principal_for(identity.get_user(s, username), "session")


def test_reference_tree_is_loaded(city):
    with make_session() as s:
        wuxi = s.get(Organisation, "320200")
        assert wuxi.name == "无锡市" and wuxi.kind == "city"
        districts = {o.code: o.name for o in identity.org_children(s, "320200") if o.kind == "district"}
        # Wuxi today: five districts and two county-level cities (GB/T 2260)
        assert districts == {"320205": "锡山区", "320206": "惠山区", "320211": "滨湖区", "320213": "梁溪区",
                             "320214": "新吴区", "320281": "江阴市", "320282": "宜兴市"}
        streets = [o for o in identity.org_children(s, "320213") if o.kind == "street"]
        assert streets and all(o.code.startswith("320213") and len(o.code) == 9 for o in streets)
        depts = {o.name for o in identity.all_orgs(s) if o.kind == "department"}
        for name in ("无锡市公安局", "无锡市大数据管理局", "无锡市市场监督管理局", "无锡市生态环境局", "无锡市水利局",
                     "无锡市应急管理局"):
            assert name in depts
        # departments sit under their division in the tree
        assert s.get(Organisation, "320200-gaj").parent_code == "320200"


def test_init_is_idempotent(city):
    from citybase.cli import run_init

    with make_session() as s:
        n = s.query(Organisation).count()
    result = run_init(quiet=True)
    assert result == {"orgs": {}, "admin_created": False}
    with make_session() as s:
        assert s.query(Organisation).count() == n


def test_create_user_checks_everything(city):
    admin = _principal("admin")
    with session_scope() as s:
        u = identity.create_user(s, admin, username="li.na", org_code="320213", role="网格员",
                                 password="wangge2026", display_name="李娜")
        assert u.role == "grid_worker" and u.password_hash.startswith("$argon2")
    with pytest.raises(Conflict) as e, session_scope() as s:
        identity.create_user(s, admin, username="LI.NA", org_code="320213", role="staff", password="abc12345")
    assert e.value.code == "duplicate_username"
    with pytest.raises(NotFound) as e, session_scope() as s:
        identity.create_user(s, admin, username="x1y2", org_code="999999", role="staff", password="abc12345")
    assert e.value.code == "unknown_org"
    with pytest.raises(BadInput) as e, session_scope() as s:
        identity.create_user(s, admin, username="x1y2", org_code="320213", role="king", password="abc12345")
    assert e.value.code == "unknown_role"
    with pytest.raises(BadInput) as e, session_scope() as s:
        identity.create_user(s, admin, username="x1y2", org_code="320213", role="staff", password="short")
    assert e.value.code == "weak_password"


def test_only_admin_manages_users(city):
    for who in ("auditor", "gaj_officer", "operator"):
        with pytest.raises(PermissionDenied), session_scope() as s:
            identity.create_user(s, _principal(who), username="zz9", org_code="320213", role="staff",
                                 password="abc12345")


def test_three_role_separation(city):
    admin, auditor = _principal("admin"), _principal("auditor")
    with pytest.raises(PermissionDenied):
        authorize(admin, "audit.read")
    for perm in ("user.manage", "org.manage", "token.manage", "calendar.manage"):
        with pytest.raises(PermissionDenied):
            authorize(auditor, perm)
    authorize(auditor, "audit.read")
    with pytest.raises(NotAuthenticated):
        authorize(ANON, "user.read")
    from citybase.core.identity.roles import grant

    with pytest.raises(ValueError):
        grant("audit.read", "admin")
    with pytest.raises(ValueError):
        grant("catalog.write", "auditor")


def test_lockout_after_repeated_failures(city):
    for _ in range(4):
        with session_scope() as s:
            r = identity.login(s, "gaj_staff", "wrong-password")
        assert r.error.code == "bad_credentials"
    with session_scope() as s:
        r = identity.login(s, "gaj_staff", "wrong-password")
    assert r.error.code == "account_locked"
    with session_scope() as s:  # even the right password is refused while locked
        r = identity.login(s, "gaj_staff", "citybase2026")
    assert r.error.code == "account_locked"
    with session_scope() as s:
        identity.unlock_user(s, _principal("admin"), "gaj_staff")
    with session_scope() as s:
        r = identity.login(s, "gaj_staff", "citybase2026")
    assert r.ok and r.principal.username == "gaj_staff"


def test_tokens_shown_once_hashed_expiring_revocable(city):
    admin = _principal("admin")
    with session_scope() as s:
        row, plain = identity.create_token(s, admin, "gaj_officer", name="接口", expires_days=30)
        token_id = row.id
    with make_session() as s:
        stored = s.get(ApiToken, token_id)
        assert plain not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
        assert identity.resolve_token(s, plain).username == "gaj_officer"
        with pytest.raises(NotAuthenticated) as e:
            identity.resolve_token(s, plain + "x")
        assert e.value.code == "token_invalid"
    with session_scope() as s:
        s.get(ApiToken, token_id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    identity.forget_cached_tokens()  # the expiry was edited behind the service's back
    with make_session() as s, pytest.raises(NotAuthenticated) as e:
        identity.resolve_token(s, plain)
    assert e.value.code == "token_expired"
    with session_scope() as s:
        s.get(ApiToken, token_id).expires_at = datetime.now(UTC) + timedelta(days=1)
        identity.revoke_token(s, admin, token_id)
    with make_session() as s, pytest.raises(NotAuthenticated) as e:
        identity.resolve_token(s, plain)
    assert e.value.code == "token_revoked"


def test_a_revocation_elsewhere_takes_effect_within_the_cache_window(city, monkeypatch):
    """Another worker process revokes the token: this process's short cache may answer from memory
    for at most TOKEN_CACHE_SECONDS, then the revocation holds."""
    admin = _principal("admin")
    with session_scope() as s:
        row, plain = identity.create_token(s, admin, "gaj_officer", name="接口")
        token_id = row.id
    with make_session() as s:
        assert identity.resolve_token(s, plain).username == "gaj_officer"
    with session_scope() as s:  # as the other process's transaction: our cache is not told
        s.get(ApiToken, token_id).revoked_at = datetime.now(UTC)
    with make_session() as s:
        assert identity.resolve_token(s, plain).username == "gaj_officer"
    later = identity.time.monotonic() + get_settings().token_cache_seconds + 0.01
    monkeypatch.setattr(identity.time, "monotonic", lambda: later)
    with make_session() as s, pytest.raises(NotAuthenticated) as e:
        identity.resolve_token(s, plain)
    assert e.value.code == "token_revoked"


def test_every_change_is_in_the_ledger(city):
    from citybase.core.audit import service as audit

    with session_scope() as s:
        identity.create_user(s, SYSTEM, username="ledger_u", org_code="320213", role="staff", password="abc12345")
    with make_session() as s:
        entries = audit.entries_for_object(s, "user", "ledger_u")
    assert [e.action for e in entries] == ["user.create"]
    with make_session() as s:
        assert s.query(User).filter_by(username="ledger_u").one()


def test_bulk_provisioning_with_a_precomputed_hash(city):
    shared = identity.hash_password("shared2026x")
    with session_scope() as s:
        for name in ("bulk_a", "bulk_b"):
            identity.create_user(s, SYSTEM, username=name, org_code="320213", role="grid_worker", password=None,
                                 password_hash=shared)
    with session_scope() as s:
        assert identity.login(s, "bulk_b", "shared2026x").ok
    with pytest.raises(BadInput) as e, session_scope() as s:
        identity.create_user(s, SYSTEM, username="bulk_c", org_code="320213", role="staff", password=None,
                             password_hash="plaintext")
    assert e.value.code == "bad_password_hash"
