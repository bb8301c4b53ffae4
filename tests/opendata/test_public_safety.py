"""Personal fields graded L3/L4 never appear in ANY public response, whatever the flags say; and the
public authorisation matrix (open type × grading × anonymous / logged-in / approved applicant)."""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile

import pyarrow.parquet as pq
import pytest

from citybase.config import get_settings
from tests.conftest import csrf_of, login
from tests.opendata.conftest import CLOSED, COND, OPEN, SENT_L2, SENT_L3, SENT_L4

CODES = (OPEN, COND, CLOSED)
FORMATS = ("csv", "gbk.csv", "xlsx", "json", "parquet", "zip")


def texts(body: bytes) -> str:
    """Everything a response carries, with ZIP/XLSX members and Parquet files expanded."""
    out = [body.decode("utf-8", errors="ignore"), body.decode("gbk", errors="ignore")]
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            for name in z.namelist():
                out.append(texts(z.read(name)))
    if body[:4] == b"PAR1":
        out.append(json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), ensure_ascii=False, default=str))
    return "\n".join(out)


def assert_clean(body: bytes, where: str) -> None:
    text = texts(body)
    assert SENT_L3 not in text, where
    assert SENT_L4 not in text, where
    assert SENT_L2 not in text, where  # L2 only ever masked


def public_routes(app) -> list[tuple[str, str]]:
    from citybase.app import _api_routes

    found = []
    for route in _api_routes(app.routes):
        perms = [getattr(d.call, "cb_permission", None) for d in route.dependant.dependencies]
        if "public" in perms:
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, route.path))
    return found


def _fill(path: str) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    choices = {"code": CODES, "fmt": FORMATS, "name": ("package_list", "package_search", "package_show", "resource_show",
                                                       "datastore_search", "organization_show", "group_show",
                                                       "organization_list", "group_list", "tag_list", "status_show"),
               "comment_id": ("1",), "demand_id": ("1",)}
    out = []
    for combo in itertools.product(*[choices.get(n, ("1",)) for n in names]):
        p = path
        for n, v in zip(names, combo, strict=True):
            p = p.replace("{" + n + "}", v)
        out.append(p)
    return out


PARAMS = [{}, {"id": OPEN, "resource_id": OPEN, "include_datasets": "true", "all_fields": "true", "rows": "1000",
               "limit": "32000", "q": "", "facet.field": '["organization"]'},
          {"id": COND, "resource_id": COND}, {"id": CLOSED, "resource_id": CLOSED},
          {"id": "320200-scjgj", "include_datasets": "true"}, {"id": "202", "include_datasets": "true"},
          {"resource_id": OPEN, "fields": "keeper_phone"}, {"resource_id": OPEN, "q": "监测点", "filters": json.dumps({"station": "ST01"})},
          {"resource_id": f"{COND}-csv"}]


def _sweep(client, app, *, mine_prefixes=("/api/", "/open", "/catalog.", "/dataset/", "/data.json")) -> int:
    calls = 0
    csrf = csrf_of(client, "/open/demands")
    for method, path in public_routes(app):
        ours = path.startswith(mine_prefixes)
        for url in _fill(path):
            plist = PARAMS if "/action/" in path else [{}]
            for params in plist if method == "GET" else plist[:4]:
                if method == "GET":
                    r = client.get(url, params=params)
                else:
                    if not ours:
                        continue  # other modules' public writes are theirs to test
                    r = client.post(url, json=params, headers={"X-CSRF-Token": csrf})
                calls += 1
                assert r.status_code != 429, url
                if ours:
                    assert r.status_code < 500, (method, url, params, r.text[:300])
                assert_clean(r.content, f"{method} {url} {params}")
    return calls


def test_no_l3_l4_in_any_public_response(od_city, od_client, monkeypatch):
    from citybase.db import session_scope
    from citybase.opendata.service import community

    monkeypatch.setattr(get_settings(), "opendata_ip_rpm", 100_000)
    app = od_client.app
    routes = public_routes(app)
    ours = {p for _m, p in routes}
    for expected in ("/api/3/action/{name}", "/api/action/{name}", "/catalog.ttl", "/catalog.jsonld", "/data.json",
                     "/dataset/{code}.ttl", "/open/datasets/{code}/download.{fmt}", "/open", "/open/search",
                     "/open/datasets/{code}", "/open/demands", "/open/developers"):
        assert expected in ours, expected
    anon_calls = _sweep(od_client, app)
    assert anon_calls > 150
    # the flags at their most permissive: a logged-in user whose application for the 有条件开放 dataset
    # (which holds an L4 field) was approved by the provider
    login(od_client, "gaj_staff")
    csrf = csrf_of(od_client, f"/open/datasets/{COND}")
    r = od_client.post(f"/open/datasets/{COND}/apply", data={"purpose": "研究企业分布情况，用于课题。", "csrf_token": csrf},
                       follow_redirects=False)
    assert r.status_code == 303
    from citybase.core.identity.principal import Principal

    officer = Principal(username="scjgj_officer", role="data_officer", org_code="320200-scjgj", via="session")
    with session_scope() as s:
        app_id = community.applications_for_provider(s, "320200-scjgj")[0].id
        community.decide(s, officer, app_id, True, "同意")
    got = od_client.get("/api/3/action/datastore_search", params={"resource_id": COND})
    assert got.status_code == 200 and got.json()["result"]["total"] > 0
    assert _sweep(od_client, app) > 150


MATRIX = [
    # open type, who, may read data
    (OPEN, "anonymous", True), (OPEN, "user", True), (OPEN, "applicant", True),
    (COND, "anonymous", False), (COND, "user", False), (COND, "applicant", True),
    (CLOSED, "anonymous", False), (CLOSED, "user", False), (CLOSED, "applicant", False),
]


@pytest.mark.parametrize("code,who,readable", MATRIX)
def test_authorisation_matrix(od_city, od_client, code, who, readable):
    from citybase.core.identity.principal import Principal
    from citybase.db import session_scope
    from citybase.opendata.service import community

    if who != "anonymous":
        login(od_client, "gaj_staff")
    if who == "applicant" and code == COND:
        csrf = csrf_of(od_client, f"/open/datasets/{code}")
        od_client.post(f"/open/datasets/{code}/apply", data={"purpose": "课题研究使用，遵守开放条件。", "csrf_token": csrf})
        with session_scope() as s:
            app_id = community.applications_for_provider(s, "320200-scjgj")[0].id
            community.decide(s, Principal(username="scjgj_officer", role="data_officer", org_code="320200-scjgj",
                                          via="session"), app_id, True, "")
    r = od_client.get("/api/3/action/datastore_search", params={"resource_id": code, "limit": 1000})
    d = od_client.get(f"/open/datasets/{code}/download.csv")
    meta = od_client.get("/api/3/action/package_show", params={"id": code})
    if code == CLOSED:
        assert r.status_code == 404 and d.status_code == 404 and meta.status_code == 404
        return
    assert meta.status_code == 200
    if not readable:
        assert r.status_code == 403 and d.status_code in (401, 403)
        return
    assert r.status_code == 200 and d.status_code == 200
    records = r.json()["result"]["records"]
    by_grading = {"station": "L1", "keeper": "L2", "keeper_phone": "L3", "owner_id": "L4"}
    header = d.content.decode("utf-8-sig").splitlines()[0].split(",")
    for name, grading in by_grading.items():
        if grading in ("L3", "L4"):
            assert name not in records[0] and name not in header
        elif grading == "L2":
            assert all(rec[name] != f"{SENT_L2}{rec['_id'] - 1}" and "*" in rec[name] for rec in records)
        else:
            assert records[0][name].startswith("ST")
    assert_clean(r.content + d.content, code)
