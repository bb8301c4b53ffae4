"""The CKAN Action API over the test client: envelope, actions, datastore_search and bad input."""

from __future__ import annotations

import json

from citybase.config import get_settings
from tests.opendata.conftest import CLOSED, COND, N_ROWS, OPEN


def ok(r):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["help"].endswith("help_show?name=" + r.url.path.rsplit("/", 1)[1])
    return body["result"]


def err(r, status: int, etype: str):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["__type"] == etype, body
    assert body["error"]["message"]
    return body["error"]


def test_package_list_and_show_only_listed(od_client):
    names = ok(od_client.get("/api/3/action/package_list"))
    assert OPEN in names and COND in names and CLOSED not in names
    pkg = ok(od_client.get(f"/api/action/package_show?id={OPEN}"))
    assert pkg["title"] == "测试水质开放数据" and pkg["organization"]["name"] == "320200-sthjj"
    assert [t["name"] for t in pkg["tags"]] == ["水质", "监测站"]
    assert {r["format"] for r in pkg["resources"]} >= {"CSV", "XLSX", "JSON", "Parquet", "ZIP"}
    assert [r["datastore_active"] for r in pkg["resources"]].count(True) == 1
    assert [f["id"] for f in pkg["withheld_fields"]] == ["keeper_phone"]
    cond = ok(od_client.post("/api/3/action/package_show", json={"id": COND}))
    assert cond["resources"][0]["datastore_active"] is False
    err(od_client.get(f"/api/3/action/package_show?id={CLOSED}"), 404, "Not Found Error")
    err(od_client.get("/api/3/action/package_show?id=nope"), 404, "Not Found Error")
    err(od_client.get("/api/3/action/package_show"), 409, "Validation Error")


def test_search_orgs_groups_tags(od_client):
    res = ok(od_client.get("/api/3/action/package_search", params={"q": "水质", "facet.field": '["organization","open_type","update_cycle"]'}))
    assert res["count"] == 1 and res["results"][0]["name"] == OPEN
    assert res["facets"]["update_cycle"] == {"每月": 1}
    assert res["search_facets"]["organization"]["items"][0]["name"] == "320200-sthjj"
    res = ok(od_client.post("/api/3/action/package_search", json={"fq": 'open_type:"有条件开放"', "rows": 5}))
    assert [p["name"] for p in res["results"]] == [COND]
    everything = ok(od_client.get("/api/3/action/package_search?q=*:*&rows=0"))
    assert everything["count"] == 2 and everything["results"] == []
    orgs = ok(od_client.get("/api/3/action/organization_list?all_fields=true"))
    assert {o["name"]: o["package_count"] for o in orgs} == {"320200-scjgj": 1, "320200-sthjj": 1}
    assert ok(od_client.get("/api/3/action/organization_list")) == ["320200-scjgj", "320200-sthjj"]
    org = ok(od_client.get("/api/3/action/organization_show?id=320200-sthjj&include_datasets=true"))
    assert [p["name"] for p in org["packages"]] == [OPEN]
    assert ok(od_client.get("/api/3/action/group_list")) == ["202"]
    assert ok(od_client.get("/api/3/action/group_show?id=202"))["package_count"] == 2
    assert "水质" in ok(od_client.get("/api/3/action/tag_list"))
    assert ok(od_client.get("/api/3/action/status_show"))["ckan_version"].startswith("2.")
    assert ok(od_client.get(f"/api/3/action/resource_show?id={OPEN}-xlsx"))["format"] == "XLSX"


def test_datastore_search(od_client):
    res = ok(od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}"))
    assert res["total"] == N_ROWS and len(res["records"]) == N_ROWS
    ids = [f["id"] for f in res["fields"]]
    assert ids[0] == "_id" and "keeper_phone" not in ids and "owner_id" not in ids
    types = {f["id"]: f["type"] for f in res["fields"]}
    assert types["ph"] == "numeric" and types["count"] == "int" and types["day"] == "date" and types["keeper"] == "text"
    flt = ok(od_client.post("/api/3/action/datastore_search", json={
        "resource_id": OPEN, "filters": {"station": "ST01", "district": "320213"}, "limit": 3,
        "sort": "count desc", "fields": ["station", "count"]}))
    assert flt["total"] == 10 and [r["count"] for r in flt["records"]] == [55, 49, 43]
    assert set(flt["records"][0]) == {"station", "count"}
    many = ok(od_client.post("/api/3/action/datastore_search", json={"resource_id": OPEN, "filters": {"count": [1, 2, "3"]}}))
    assert many["total"] == 3
    by_date = ok(od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&filters=" + json.dumps({"day": "2026-11-02"})))
    assert by_date["total"] == 3 and by_date["records"][0]["day"] == "2026-11-02"
    text = ok(od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&q=监测点5&include_total=false"))
    assert "total" not in text and len(text["records"]) == 10
    page = ok(od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&limit=5&offset=58"))
    assert [r["_id"] for r in page["records"]] == [59, 60]
    lists = ok(od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&limit=1&records_format=lists"))
    assert isinstance(lists["records"][0], list)
    # the L2 field is served masked, and filtering by its clear value finds nothing
    assert all("SENTINELL2Y" not in (r["keeper"] or "") for r in res["records"])
    assert ok(od_client.post("/api/3/action/datastore_search", json={"resource_id": OPEN, "filters": {"keeper": "SENTINELL2Y1"}}))["total"] == 0


def test_datastore_refuses_conditional_and_closed(od_client):
    err(od_client.get(f"/api/3/action/datastore_search?resource_id={COND}"), 403, "Authorization Error")
    err(od_client.get(f"/api/3/action/datastore_search?resource_id={CLOSED}"), 404, "Not Found Error")
    err(od_client.get("/api/3/action/datastore_search?resource_id=unknown-1"), 404, "Not Found Error")


def test_bad_input_gets_ckan_errors_never_500(od_client):
    ds = "/api/3/action/datastore_search"
    cases = [
        {"resource_id": OPEN, "filters": {"station; DROP TABLE t": "x"}},
        {"resource_id": OPEN, "filters": {"count": "1 OR 1=1"}},
        {"resource_id": OPEN, "filters": {"keeper_phone": "x"}},
        {"resource_id": OPEN, "filters": "station=1"},
        {"resource_id": OPEN, "fields": ["station", "owner_id"]},
        {"resource_id": OPEN, "fields": "station, (SELECT 1)"},
        {"resource_id": OPEN, "sort": "station; DROP TABLE t"},
        {"resource_id": OPEN, "sort": "keeper_phone desc"},
        {"resource_id": OPEN, "sort": "1"},
        {"resource_id": OPEN, "limit": 32001},
        {"resource_id": OPEN, "limit": -1},
        {"resource_id": OPEN, "limit": "ten"},
        {"resource_id": OPEN, "offset": -5},
        {"resource_id": OPEN, "q": {"nope": "x"}},
        {"resource_id": OPEN, "q": "x" * 300},
        {"resource_id": OPEN, "records_format": "xml"},
        {"resource_id": OPEN, "filters": {"day": "not a date"}},
        {},
    ]
    for body in cases:
        r = od_client.post(ds, json=body)
        e = err(r, 409, "Validation Error")
        assert "SENTINEL" not in r.text
        assert e["message"]
    # the injection attempt with quotes matched nothing instead of everything
    r = od_client.post(ds, json={"resource_id": OPEN, "filters": {"name": "x' OR '1'='1"}})
    assert r.json()["result"]["total"] == 0
    ps = "/api/3/action/package_search"
    err(od_client.get(ps + "?rows=1001"), 409, "Validation Error")
    err(od_client.get(ps + "?start=-1"), 409, "Validation Error")
    err(od_client.get(ps + "?fq=" + "owner_id:1; DROP"), 400, "Search Query Error")
    err(od_client.get(ps + "?fq=organization"), 400, "Search Query Error")
    err(od_client.get(ps + "?sort=evil desc"), 400, "Search Query Error")
    err(od_client.get(ps + "?facet.field=[\"secret\"]"), 409, "Validation Error")
    r = od_client.post(ps, content=b"{not json", headers={"content-type": "application/json"})
    err(r, 409, "Validation Error")
    r = od_client.post(ps, content=b"[1,2]", headers={"content-type": "application/json"})
    err(r, 409, "Validation Error")
    r = od_client.get("/api/3/action/no_such_action")
    assert r.status_code == 400 and isinstance(r.json(), str)
    err(od_client.get("/api/3/action/package_create"), 409, "Validation Error")
    err(od_client.post("/api/3/action/package_create", json={"name": "x"}), 403, "Authorization Error")
    err(od_client.get("/api/3/action/datastore_search?resource_id=" + OPEN + "&filters={bad"), 409, "Validation Error")


def test_rate_limits_per_ip_and_per_key(od_client, monkeypatch):
    from citybase.db import session_scope
    from citybase.opendata.service import developers

    monkeypatch.setattr(get_settings(), "opendata_ip_rpm", 3)
    statuses = []
    for _ in range(4):
        r = od_client.get("/api/3/action/status_show")
        statuses.append(r.status_code)
    assert statuses == [200, 200, 200, 429]
    assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["X-RateLimit-Remaining"] == "0"
    assert r.json()["error"]["__type"] == "Authorization Error" and "Retry-After" in r.headers
    with session_scope() as s:
        row, key = developers.register(s, __import__("citybase.core.identity.principal", fromlist=["ANON"]).ANON,
                                       "测试开发者", "dev@example.com")
        row.rate_limit = 2
    good = od_client.get("/api/3/action/status_show", headers={"X-CKAN-API-Key": key})
    assert good.status_code == 200 and good.headers["X-RateLimit-Limit"] == "2"
    assert od_client.get("/api/3/action/status_show", headers={"Authorization": key}).status_code == 200
    assert od_client.get("/api/3/action/status_show", headers={"Authorization": key}).status_code == 429
    bad = od_client.get("/api/3/action/status_show", headers={"X-CKAN-API-Key": "cbod_wrong"})
    err(bad, 403, "Authorization Error")


def test_odd_parameter_types_never_500(od_client, monkeypatch):

    monkeypatch.setattr(get_settings(), "opendata_ip_rpm", 100_000)
    odd = [None, -1, 1.5, True, ["a", "b"], {"x": 1}, "' OR 1=1 --", "a" * 5000]
    keys = {"package_list": ["limit", "offset"], "package_show": ["id"], "resource_show": ["id"],
            "package_search": ["q", "fq", "rows", "start", "sort", "facet.field", "facet.limit"],
            "organization_list": ["all_fields", "limit"], "organization_show": ["id", "include_datasets"],
            "group_show": ["id"], "tag_list": ["query"],
            "datastore_search": ["resource_id", "q", "filters", "fields", "sort", "limit", "offset", "include_total",
                                 "records_format"]}
    calls = 0
    for name, names in keys.items():
        for key in names:
            for value in odd:
                body = {"resource_id": OPEN, "id": OPEN, key: value}
                r = od_client.post(f"/api/3/action/{name}", json=body)
                calls += 1
                assert r.status_code < 500 and r.status_code != 429, (name, key, value, r.text[:200])
                assert r.json()["success"] in (True, False)
                assert "SENTINEL" not in r.text
    assert calls > 150


def test_new_lake_version_is_served_next_query(od_client):
    import pyarrow as pa

    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.lake import service as lake
    from citybase.opendata.jobs import prebuild_stores
    from citybase.opendata.service import datastore

    first = od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&filters=" + json.dumps({"station": "ST09"}))
    assert first.json()["result"]["total"] == 0
    rows = {"station": ["ST09", "ST09"], "name": ["新站", "新站"], "district": ["320205", "320205"], "ph": [7.0, 7.1],
            "day": ["2026-11-21", "2026-11-22"], "count": [1, 2], "keeper": ["张三", "李四"], "keeper_phone": ["x", "y"]}
    with session_scope() as s:
        lake.ingest_table(s, SYSTEM, OPEN, pa.table(rows), source_label="第二版")
    assert prebuild_stores() == 1
    files = sorted(p.name for p in (datastore.store_dir() / OPEN).glob("*.duckdb"))
    assert files == ["v2.duckdb"]
    second = od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}&filters=" + json.dumps({"station": "ST09"}))
    assert second.json()["result"]["total"] == 2
    assert od_client.get(f"/api/3/action/datastore_search?resource_id={OPEN}").json()["result"]["total"] == 2
