"""The authorisation and masking matrix: every role × 共享属性 × grading, grants, clear fields, revocation."""

from __future__ import annotations

import pytest

from citybase.core.errors import NotAuthenticated, PermissionDenied
from citybase.db import session_scope
from citybase.exchange import service
from citybase.exchange.schemas import ApproveIn, RequestIn
from tests.exchange.conftest import COND, FREE, NONE, N, person_rows, principal_of

ROWS = person_rows()
# 信息项 → grading: sfzh L4 (ID), xm L3 (name), lxdh L3 (mobile), xb L2, nl/xzqh/djrq L1
CLEAR_BY_DEFAULT = {"xb", "nl", "xzqh", "djrq"}
MASKED_BY_DEFAULT = {"sfzh", "xm", "lxdh"}

BUSINESS = ["rsj_officer", "rsj_staff", "rsj_operator", "rsj_grid"]
NOT_READERS = ["admin", "auditor"]


def _read(username: str, code: str, grant_id: int | None = None, size: int = 100):
    with session_scope() as s:
        page, _ = service.query(s, principal_of(username), code, grant_id=grant_id, size=size)
    return page


def _approve(consumer: str, code: str, approver: str, *, fields=(), clear=(), row_filter=(), approve_clear=None):
    with session_scope() as s:
        r = service.create_request(s, principal_of(consumer), RequestIn(
            resource_code=code, fields=list(fields), clear_fields=list(clear), row_filter=list(row_filter),
            purpose="社保待遇资格认证", legal_basis="《社会保险法》第八条"))
    with session_scope() as s:
        return service.approve(s, principal_of(approver), r.id, ApproveIn(clear_fields=approve_clear))


def _assert_masked(page, masked: set[str]) -> None:
    for item in page.items:
        for name in page.fields:
            value = item[name]
            original = ROWS.column(name).to_pylist()[item["nl"] - 20]  # nl = 20 + source row index
            if hasattr(original, "isoformat"):
                original = original.isoformat()
            if name in masked:
                assert "*" in str(value), (name, value)
                assert value != original
            else:
                assert value == original, (name, value, original)
    assert set(page.masked_fields) == masked & set(page.fields)


@pytest.mark.parametrize("username", BUSINESS)
def test_business_roles_without_grant(shared, username):
    # 无条件共享: readable without a request, every personal/L3/L4 field masked, L1/L2 as stored
    page = _read(username, FREE)
    assert page.access == "implicit" and len(page.items) == N
    _assert_masked(page, MASKED_BY_DEFAULT)
    # 有条件共享: refused until a grant exists
    with pytest.raises(PermissionDenied) as exc:
        _read(username, COND)
    assert exc.value.code == "no_grant"
    # 不予共享: never served, and the legal basis is quoted
    with pytest.raises(PermissionDenied) as exc:
        _read(username, NONE)
    assert exc.value.code == "not_shareable" and "身份证法" in exc.value.detail["share_basis"]


@pytest.mark.parametrize("username", NOT_READERS)
def test_admin_and_auditor_read_nothing(shared, username):
    for code in (FREE, COND, NONE):
        with pytest.raises(PermissionDenied):
            _read(username, code)


def test_anonymous_gets_401(shared):
    from citybase.core.identity.principal import ANON

    for code in (FREE, COND, NONE):
        with session_scope() as s, pytest.raises(NotAuthenticated):
            service.query(s, ANON, code)


@pytest.mark.parametrize("username", BUSINESS)
def test_grant_scopes_every_business_role_of_the_consumer(shared, username):
    """A grant binds to the consumer organisation: every business user of it reads within its scope."""
    g = _approve("rsj_officer", COND, "gaj_officer", fields=["sfzh", "xm", "xb", "nl", "xzqh"],
                 row_filter=[{"field": "xzqh", "op": "=", "value": "320213"}])
    page = _read(username, COND)
    assert page.access == "grant" and page.grant_id == g.id
    assert page.fields == ["sfzh", "xm", "xb", "nl", "xzqh"]
    assert len(page.items) == N // 3 and {i["xzqh"] for i in page.items} == {"320213"}
    _assert_masked(page, {"sfzh", "xm"})
    # another department is still refused
    with pytest.raises(PermissionDenied):
        _read("scjgj_officer", COND)


def test_clear_fields_only_when_the_grant_names_them(shared):
    # L3 name asked and granted in clear; L4 ID not named → still masked
    _approve("rsj_officer", COND, "gaj_officer", fields=["sfzh", "xm", "nl"], clear=["xm"])
    page = _read("rsj_staff", COND)
    assert page.clear_fields == ["xm"]
    _assert_masked(page, {"sfzh"})


def test_l4_in_clear_needs_the_grant_to_name_it(shared):
    _approve("rsj_officer", COND, "gaj_officer", fields=["sfzh", "nl"], clear=["sfzh"])
    page = _read("rsj_staff", COND)
    assert page.clear_fields == ["sfzh"]
    assert all("*" not in i["sfzh"] for i in page.items)
    # and the ledger entry says which fields left in clear
    from citybase.core.audit import service as audit

    with session_scope() as s:
        entry = [e for e in audit.entries_for_object(s, "resource", COND) if e.action == "exchange.read"][-1]
    assert '"clear_fields":["sfzh"]' in entry.detail


def test_provider_narrows_clear_fields(shared):
    _approve("rsj_officer", COND, "gaj_officer", fields=["sfzh", "xm", "nl"], clear=["sfzh", "xm"],
             approve_clear=["xm"])
    page = _read("rsj_staff", COND)
    assert page.clear_fields == ["xm"]
    _assert_masked(page, {"sfzh"})


def test_provider_reads_own_resource_masked(shared):
    page = _read("gaj_staff", COND)
    assert page.access == "implicit"
    _assert_masked(page, MASKED_BY_DEFAULT)


def test_revocation_takes_effect_on_next_call(shared):
    g = _approve("rsj_officer", COND, "gaj_officer")
    assert len(_read("rsj_staff", COND, grant_id=g.id).items) == N
    with session_scope() as s:
        service.revoke(s, principal_of("gaj_officer"), g.id, "业务已办结")
    with pytest.raises(PermissionDenied) as exc:
        _read("rsj_staff", COND, grant_id=g.id)
    assert exc.value.code == "grant_revoked"
    with pytest.raises(PermissionDenied) as exc:
        _read("rsj_staff", COND)
    assert exc.value.code == "no_grant"


def test_expired_grant_refused(shared):
    from datetime import timedelta

    from citybase.core.time import utcnow
    from citybase.exchange.models import ShareGrant

    g = _approve("rsj_officer", COND, "gaj_officer")
    with session_scope() as s:
        s.get(ShareGrant, g.id).expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(PermissionDenied) as exc:
        _read("rsj_staff", COND, grant_id=g.id)
    assert exc.value.code == "grant_expired"


def test_only_the_provider_officer_approves(shared):
    with session_scope() as s:
        r = service.create_request(s, principal_of("rsj_officer"), RequestIn(
            resource_code=COND, purpose="社保待遇资格认证", legal_basis="《社会保险法》"))
    for username in ("scjgj_officer", "dsj_officer", "gaj_staff"):
        with session_scope() as s, pytest.raises(PermissionDenied):
            service.approve(s, principal_of(username), r.id, ApproveIn())


def test_approval_cannot_widen_the_request(shared):
    from citybase.core.errors import BadInput

    with session_scope() as s:
        r = service.create_request(s, principal_of("rsj_officer"), RequestIn(
            resource_code=COND, fields=["nl", "xb"], row_filter=[{"field": "xzqh", "op": "=", "value": "320213"}],
            purpose="社保待遇资格认证", legal_basis="《社会保险法》"))
    bad = [ApproveIn(fields=["nl", "sfzh"]), ApproveIn(clear_fields=["xb"]), ApproveIn(row_filter=[]),
           ApproveIn(period_days=900)]
    for data in bad:
        with session_scope() as s, pytest.raises(BadInput) as exc:
            service.approve(s, principal_of("gaj_officer"), r.id, data)
        assert exc.value.code == "exceeds_request"
    # narrowing is fine: fewer fields, one more condition
    with session_scope() as s:
        g = service.approve(s, principal_of("gaj_officer"), r.id, ApproveIn(
            fields=["nl"], row_filter=[{"field": "xzqh", "op": "=", "value": "320213"},
                                       {"field": "nl", "op": "between", "value": [20, 30]}]))
    page = _read("rsj_staff", COND, grant_id=g.id)
    assert page.fields == ["nl"] and {i["nl"] for i in page.items} == {20, 23, 26, 29}


def test_no_request_for_unshareable_resource(shared):
    with session_scope() as s, pytest.raises(PermissionDenied) as exc:
        service.create_request(s, principal_of("rsj_officer"), RequestIn(
            resource_code=NONE, purpose="社保待遇资格认证", legal_basis="《社会保险法》"))
    assert exc.value.code == "not_shareable"


def test_catalog_requires_legal_basis_for_unshareable(shared):
    from citybase.catalog import service as catalog
    from citybase.catalog.schemas import ResourceIn
    from citybase.core.errors import BadInput
    from citybase.core.identity.principal import SYSTEM

    with session_scope() as s, pytest.raises(BadInput) as exc:
        catalog.create_resource(s, SYSTEM, ResourceIn(name="无依据", class_code="101003",
                                                      provider_code="320200-gaj", share_type="不予共享"))
    assert "share_basis_required" in str(exc.value.detail)


def test_keyset_pagination_visits_every_row_once(shared):
    seen = []
    cursor = None
    with session_scope() as s:
        while True:
            page, _ = service.query(s, principal_of("rsj_staff"), FREE, size=7, cursor=cursor)
            seen += [i["nl"] for i in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
    assert sorted(seen) == list(range(20, 20 + N)) and len(seen) == N
