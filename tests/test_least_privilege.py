"""Least privilege by default, and masking that holds: the role matrix of the base library, the
auditor's one room, and the replay of the ID-number enumeration that a masked record once allowed."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import login

# who may read base-library records (API), and which pages each role opens
RECORDS = {"dsj_officer": 200, "gaj_officer": 200, "scjgj_officer": 403, "gaj_staff": 403, "operator": 403,
           "grid_worker": 403, "auditor": 403, "admin": 403}
PAGES = {  # path → roles that get 200 (everyone else 403)
    "/baselib": {"dsj_officer", "gaj_officer", "scjgj_officer", "gaj_staff", "operator", "grid_worker"},
    "/catalog": {"admin", "dsj_officer", "gaj_officer", "scjgj_officer", "gaj_staff", "operator", "grid_worker"},
    "/quality": {"dsj_officer", "gaj_officer", "scjgj_officer", "gaj_staff", "operator", "grid_worker"},
    "/audit": {"auditor"},
}


@pytest.fixture
def people(client):
    from citybase.baselib import demo as baselib_demo
    from citybase.catalog import demo as catalog_demo
    from citybase.lake import demo as lake_demo

    for mod in (catalog_demo, lake_demo, baselib_demo):
        mod.load()
    return client


def _token(username: str) -> dict[str, str]:
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope

    with session_scope() as s:  # minted by the host's CLI (the auditor holds no self.token)
        return {"Authorization": "Bearer " + identity.create_token(s, SYSTEM, username)[1]}


def test_role_matrix_for_base_library_records_and_pages(people):
    machine = TestClient(people.app)
    for username, status in RECORDS.items():
        r = machine.get("/api/baselib/population/records", params={"limit": 5}, headers=_token(username))
        assert r.status_code == status, (username, r.status_code, r.text[:200])
        if status == 403:
            assert r.json()["error"]["code"] in ("records_restricted", "permission_denied"), username
    for username in RECORDS:
        people.cookies.clear()
        login(people, username)
        for path, allowed in PAGES.items():
            r = people.get(path, headers={"accept": "text/html"})
            assert r.status_code == (200 if username in allowed else 403), (username, path, r.status_code)
        if username in PAGES["/baselib"]:
            page = people.get("/baselib/population").text
            assert ('id="records-restricted"' in page) == (RECORDS[username] == 403), username
    people.cookies.clear()
    login(people, "auditor")
    nav = re.findall(r'<nav.*?</nav>', people.get("/audit").text, re.S)[0]
    assert "安全审计" in nav and not any(w in nav for w in ("数据资源目录", "基础库", "开放平台", "数据治理"))


def test_masked_record_cannot_be_turned_back_into_the_id_number(people):
    """The enumeration of the issue: a masked ID and its masked birth date, every birth date that
    fits, one exact-key lookup each. Now the birth date shows nothing, the grid worker may not look
    up at all, a source department needs a grant naming the ID in clear, and the misses raise an alert."""
    from citybase.core.audit import service as audit
    from citybase.db import make_session
    from citybase.standards.idcard import id_check_char as check_char

    machine = TestClient(people.app)
    officer = _token("gaj_officer")
    rec = machine.get("/api/baselib/population/records", params={"limit": 1}, headers=officer).json()
    fields = [f["name"] for f in rec["fields"]]
    row = {n: c["value"] for n, c in zip(fields, rec["records"][0], strict=True)}
    masked_id, birth = row["gmsfhm"], row["csrq"]
    assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", masked_id) and birth == "******"  # nothing to narrow it down
    with make_session() as s:
        true_id = next(k for k in _all_keys(s) if k[:6] == masked_id[:6] and k[-4:] == masked_id[-4:])
    head, tail = masked_id[:6], masked_id[-4:-1]
    candidates = []
    for year in range(1950, 2010):
        for day in ("0101", "0315", "0620", "0909", "1231"):
            first17 = f"{head}{year}{day}{tail}"
            if check_char(first17) == masked_id[-1]:
                candidates.append(first17 + masked_id[-1])
    candidates = candidates[:40] + [true_id] + candidates[40:46]  # 47 requests, the real one among them
    found = []
    for who in ("grid_worker", "gaj_officer"):
        headers = _token(who)
        for cand in candidates:
            r = machine.get("/api/baselib/population/records",
                            params={"record_key": cand, "purpose": "核对户籍信息"}, headers=headers)
            assert r.status_code in (403, 429), (who, r.status_code, r.text[:200])
            if r.status_code == 200 and r.json()["records"]:
                found.append(cand)
    assert found == []
    with make_session() as s:
        alerts = audit.list_entries(s, _auditor(s), action="security.alert").items
        lookups = audit.list_entries(s, _auditor(s), action="baselib.lookup", size=200).items
    assert {a.actor.split("#")[0] for a in alerts} == {"grid_worker", "gaj_officer"}
    assert all(true_id not in (e.detail or "") for e in lookups)  # the ledger keeps masked keys only
    # the bureau may look one up, with a stated purpose, and it is on the ledger
    bureau = _token("dsj_officer")
    r = machine.get("/api/baselib/population/records", params={"record_key": true_id}, headers=bureau)
    assert r.status_code == 422 and r.json()["error"]["code"] == "purpose_required"
    r = machine.get("/api/baselib/population/records", params={"record_key": true_id, "purpose": "低保复核 2026-118"},
                    headers=bureau)
    assert r.status_code == 200 and len(r.json()["records"]) == 1


def _all_keys(session) -> list[str]:
    from citybase.baselib import service as baselib
    from citybase.lake import duck

    b = baselib.last_build(session, "population")
    path = baselib._provenance_dir("population") / f"build-{b.number:06d}.parquet"
    con = duck.connect(macros=False)
    try:
        return [r[0] for r in con.execute(f"SELECT _k FROM read_parquet('{path}') ORDER BY _k").fetchall()]
    finally:
        con.close()


def _auditor(session):
    from citybase.core.identity import service as identity

    return identity.principal_for(identity.get_user(session, "auditor"), "session")
