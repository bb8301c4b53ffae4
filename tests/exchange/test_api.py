"""The /api/exchange surface: audited calls, streamed exports, bad input, quotas, tokens."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq

from citybase.core.audit import service as audit
from citybase.db import make_session, session_scope
from citybase.exchange import service
from citybase.exchange.schemas import ApproveIn, RequestIn
from tests.conftest import csrf_of, login
from tests.exchange.conftest import COND, FREE, NONE, N, principal_of


def _token(username: str) -> str:
    from citybase.core.identity import service as identity

    with session_scope() as s:
        row, plain = identity.create_token(s, principal_of(username), username, name="测试")
    return plain


def _grant(**approve) -> int:
    with session_scope() as s:
        r = service.create_request(s, principal_of("rsj_officer"), RequestIn(
            resource_code=COND, fields=["sfzh", "xm", "nl", "xzqh"],
            row_filter=[{"field": "xzqh", "op": "in", "value": ["320213", "320214"]}],
            purpose="社保待遇资格认证", legal_basis="《社会保险法》第八条"))
    with session_scope() as s:
        return service.approve(s, principal_of("gaj_officer"), r.id, ApproveIn(**approve)).id


def _reads() -> list:
    with make_session() as s:
        return [e for e in audit.entries_for_object(s, "resource", COND) if e.action == "exchange.read"]


def test_every_call_is_audited(shared_client):
    gid = _grant(rate_limit_per_minute=100)
    token = _token("rsj_staff")
    h = {"Authorization": f"Bearer {token}"}
    c = shared_client
    r = c.get(f"/api/exchange/data/{COND}/rows", params={"size": 5}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] == gid and len(body["items"]) == 5 and body["next_cursor"]
    assert body["masked_fields"] == ["sfzh", "xm"]
    assert r.headers["X-RateLimit-Limit"] == "100"
    r2 = c.get(f"/api/exchange/data/{COND}/export.csv", headers=h)
    assert r2.status_code == 200 and r2.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r2.content.decode("utf-8-sig"))))
    assert len(rows) == 20 and set(rows[0]) == {"sfzh", "xm", "nl", "xzqh"}
    assert all("*" in x["sfzh"] and x["xzqh"] in ("320213", "320214") for x in rows)
    r3 = c.get(f"/api/exchange/data/{COND}/export.parquet", headers=h)
    table = pq.read_table(io.BytesIO(r3.content))
    assert table.num_rows == 20 and table.column_names == ["sfzh", "xm", "nl", "xzqh"]

    entries = _reads()
    assert len(entries) == 3
    details = [json.loads(e.detail) for e in entries]
    assert [d["channel"] for d in details] == ["query", "csv", "parquet"]
    assert [d["row_count"] for d in details] == [5, 20, 20]
    for e, d in zip(entries, details, strict=True):
        assert e.actor.startswith("rsj_staff#token")
        assert d["consumer"] == "320200-rsj" and d["grant"] == gid and d["version"] == 1
        assert d["fields"] == ["sfzh", "xm", "nl", "xzqh"] and d["purpose"] == "社保待遇资格认证"
        assert d["token"] is not None and d["clear_fields"] == []
    # the provider sees who read what
    login(c, "gaj_officer")
    log = c.get(f"/api/exchange/resources/{COND}/access-log").json()
    assert [a["channel"] for a in log] == ["parquet", "csv", "query"]
    assert all(a["consumer_code"] == "320200-rsj" for a in log)
    page = c.get(f"/exchange/log/{COND}")
    assert page.status_code == 200 and "人力资源和社会保障局" in page.text


def test_implicit_reads_are_audited_too(shared_client):
    c = login(shared_client, "rsj_staff")
    assert c.get(f"/api/exchange/data/{FREE}/rows").status_code == 200
    with make_session() as s:
        entries = [e for e in audit.entries_for_object(s, "resource", FREE) if e.action == "exchange.read"]
    assert len(entries) == 1 and json.loads(entries[0].detail)["grant"] == "implicit"


def test_revocation_next_call_over_api(shared_client):
    gid = _grant()
    h = {"Authorization": f"Bearer {_token('rsj_staff')}"}
    c = shared_client
    assert c.get(f"/api/exchange/data/{COND}/rows", params={"grant_id": gid}, headers=h).status_code == 200
    login(c, "gaj_officer")
    r = c.post(f"/api/exchange/grants/{gid}/revoke", json={"reason": "业务办结"},
               headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = c.get(f"/api/exchange/data/{COND}/rows", params={"grant_id": gid}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_revoked"
    r = c.get(f"/api/exchange/data/{COND}/export.csv", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_grant"


def test_bad_input_gets_4xx_and_nothing_beyond_the_grant(shared_client):
    _grant()
    h = {"Authorization": f"Bearer {_token('rsj_staff')}"}
    c = shared_client
    url = f"/api/exchange/data/{COND}/rows"
    cases = [
        ({"filter": "xzqh = '320213' OR 1=1"}, 422, "bad_filter"),
        ({"filter": '[{"field": "xzqh; DROP TABLE x", "op": "=", "value": "1"}]'}, 422, "unknown_field"),
        ({"filter": '[{"field": "nl", "op": "LIKE", "value": "1"}]'}, 422, "bad_filter"),
        ({"filter": '[{"field": "nl", "op": "=", "value": "1 OR 1=1"}]'}, 422, "bad_filter_value"),
        ({"filter": '[{"field": "nl", "op": "between", "value": [1]}]'}, 422, "bad_filter_value"),
        ({"filter": '{"field": "nl"}'}, 422, "bad_filter"),
        ({"filter": '[{"field": "sfzh", "op": "=", "value": "320213199001000000"}]'}, 422, "filter_on_masked_field"),
        ({"filter": '[{"field": "lxdh", "op": "=", "value": "13900000000"}]'}, 422, "field_not_granted"),
        ({"fields": "nl,lxdh"}, 422, "field_not_granted"),
        ({"fields": "nl,\"x\" FROM y --"}, 422, "field_not_granted"),
        ({"size": 0}, 422, "bad_page_size"),
        ({"size": 100000}, 422, "bad_page_size"),
        ({"size": "abc"}, 422, None),
        ({"cursor": "not-a-cursor!"}, 422, "bad_cursor"),
        ({"grant_id": 999}, 403, "unknown_grant"),
    ]
    for params, status, code in cases:
        r = c.get(url, params=params, headers=h)
        assert r.status_code == status, (params, r.text)
        if code:
            assert r.json()["error"]["code"] == code, (params, r.json())
    # a quoted value is just a value: no rows, no error, no escape from the grant
    r = c.get(url, params={"filter": json.dumps([{"field": "xzqh", "op": "=", "value": "320213' OR '1'='1"}])},
              headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    # a caller filter can only narrow the grant's row filter
    r = c.get(url, params={"filter": json.dumps([{"field": "xzqh", "op": "=", "value": "320211"}])}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    assert c.get("/api/exchange/data/NOPE-1/rows", headers=h).status_code == 404
    assert c.get(f"/api/exchange/data/{NONE}/export.csv", headers=h).status_code == 403
    # malformed JSON bodies
    r = c.post("/api/exchange/requests", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"]
    r = c.post("/api/exchange/requests", json={"resource_code": COND, "purpose": "x"}, headers=h)
    assert r.status_code == 422
    # unknown ids
    assert c.get("/api/exchange/requests/9999", headers=h).status_code == 404
    assert c.get("/api/exchange/grants/9999", headers=h).status_code == 404


def test_revoked_token_and_quota(shared_client):
    from citybase.core.identity import service as identity

    _grant(rate_limit_per_minute=3)
    plain = _token("rsj_staff")
    h = {"Authorization": f"Bearer {plain}"}
    c = shared_client
    url = f"/api/exchange/data/{COND}/rows"
    for _ in range(3):
        assert c.get(url, headers=h).status_code == 200
    r = c.get(url, headers=h)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert r.headers["X-RateLimit-Remaining"] == "0" and "Retry-After" in r.headers
    assert len(_reads()) == 3  # refused calls return nothing and read nothing
    with session_scope() as s:
        tok = identity.list_tokens(s, principal_of("rsj_staff"), "rsj_staff")[0]
        identity.revoke_token(s, principal_of("rsj_staff"), tok.id)
    r = c.get(url, headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_request_approval_over_api(shared_client):
    c = login(shared_client, "rsj_officer")
    r = c.post("/api/exchange/requests", json={
        "resource_code": COND, "fields": ["nl", "xzqh", "xm"], "clear_fields": ["xm"],
        "row_filter": [{"field": "xzqh", "op": "=", "value": "320213"}],
        "purpose": "养老保险待遇资格认证", "legal_basis": "《社会保险法》第八条", "period_days": 90},
        headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["workdays_left"] == 10 and r.json()["status"] == "pending"
    mine = c.get("/api/exchange/requests").json()
    assert [x["id"] for x in mine] == [rid]
    c.post("/logout", data={"csrf_token": csrf_of(c)})
    login(c, "gaj_officer")
    inbox = c.get("/api/exchange/requests", params={"box": "inbox"}).json()
    assert [x["id"] for x in inbox] == [rid]
    r = c.post(f"/api/exchange/requests/{rid}/approve", json={"fields": ["nl", "xzqh"], "clear_fields": []},
               headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["fields"] == ["nl", "xzqh"] and g["consumer_code"] == "320200-rsj"
    r = c.post(f"/api/exchange/requests/{rid}/approve", json={}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 409
    c.post("/logout", data={"csrf_token": csrf_of(c)})
    login(c, "rsj_staff")
    page = c.get(f"/api/exchange/data/{COND}/rows").json()
    assert page["fields"] == ["nl", "xzqh"] and len(page["items"]) == N // 3
