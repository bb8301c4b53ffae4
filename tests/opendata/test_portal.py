"""Portal pages and flows: home, search, dataset page, downloads in every format, ratings and comments,
the application → approval flow, 需求通道 (ask → route → public answer), developer keys, dashboard."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pyarrow.parquet as pq
from openpyxl import load_workbook

from tests.conftest import csrf_of, login
from tests.opendata.conftest import COND, N_ROWS, OPEN


def test_home_search_and_dataset_page(od_client):
    home = od_client.get("/open")
    assert home.status_code == 200 and "公共数据开放平台" in home.text and 'id="fig-datasets">2<' in home.text
    found = od_client.get("/open/search", params={"q": "shuizhi"})
    assert "测试水质开放数据" in found.text and "测试企业有条件数据" not in found.text
    faceted = od_client.get("/open/search", params={"open_type": "有条件开放"})
    assert "测试企业有条件数据" in faceted.text and "测试水质开放数据" not in faceted.text
    assert "更新周期" in faceted.text and "提供部门" in faceted.text
    bad = od_client.get("/open/search", params={"q": "x" * 300})
    assert bad.status_code == 200 and "共找到 <strong>0</strong>" in bad.text
    page = od_client.get(f"/open/datasets/{OPEN}")
    assert page.status_code == 200
    assert 'id="preview"' in page.text and "监测点" in page.text
    assert "不开放字段" in page.text and "管护人电话" in page.text
    assert "datastore_search?resource_id=" + OPEN in page.text and "RemoteCKAN" in page.text
    cond = od_client.get(f"/open/datasets/{COND}")
    assert 'id="preview"' not in cond.text and "有条件开放" in cond.text and "登录" in cond.text
    assert od_client.get("/open/datasets/nope").status_code == 404


def test_downloads_every_format(od_client):
    body = od_client.get(f"/open/datasets/{OPEN}/download.csv").content
    assert body.startswith("\ufeff".encode())  # the BOM: Excel opens UTF-8 right
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["站点编码", "站点名称", "区划", "pH 值", "监测日期", "序号", "管护人"] and len(rows) == N_ROWS + 1
    codes = od_client.get(f"/open/datasets/{OPEN}/download.csv", params={"header": "codes"}).content.decode("utf-8-sig")
    assert codes.splitlines()[0] == "station,name,district,ph,day,count,keeper"
    bad = od_client.get(f"/open/datasets/{OPEN}/download.csv", params={"header": "pinyin"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_header"
    gbk = od_client.get(f"/open/datasets/{OPEN}/download.gbk.csv")
    assert "charset=gbk" in gbk.headers["content-type"] and "监测点" in gbk.content.decode("gbk")
    data = od_client.get(f"/open/datasets/{OPEN}/download.json").json()
    assert len(data["records"]) == N_ROWS and data["records"][0]["station"] == "ST00"
    table = pq.read_table(io.BytesIO(od_client.get(f"/open/datasets/{OPEN}/download.parquet").content))
    assert table.num_rows == N_ROWS and "keeper_phone" not in table.column_names
    wb = load_workbook(io.BytesIO(od_client.get(f"/open/datasets/{OPEN}/download.xlsx").content), read_only=True)
    assert sum(1 for _ in wb["数据"].iter_rows()) == N_ROWS + 2 and "说明" in wb.sheetnames
    z = zipfile.ZipFile(io.BytesIO(od_client.get(f"/open/datasets/{OPEN}/download.zip").content))
    assert {f"{OPEN}.csv", f"{OPEN}.parquet", f"{OPEN}.xlsx", f"{OPEN}.json", "datapackage.json"} <= set(z.namelist())
    assert json.loads(z.read("datapackage.json"))["withheld_fields"] == ["管护人电话"]
    assert od_client.get(f"/open/datasets/{OPEN}/download.exe").status_code == 422
    assert od_client.get(f"/open/datasets/{COND}/download.csv").status_code == 401
    usage = od_client.get("/api/3/action/package_show", params={"id": OPEN})
    assert usage.status_code == 200
    from citybase.db import make_session
    from citybase.opendata.service import usage as u

    with make_session() as s:
        assert u.totals(s, OPEN)["download"] == 7  # six formats and the codes-header CSV


def test_rate_comment_report(od_client):
    anon = od_client.post(f"/open/datasets/{OPEN}/rate", data={"stars": "5", "csrf_token": csrf_of(od_client, "/open/demands")})
    assert anon.status_code == 401
    login(od_client, "gaj_staff")
    csrf = csrf_of(od_client, f"/open/datasets/{OPEN}")
    assert od_client.post(f"/open/datasets/{OPEN}/rate", data={"stars": "4", "csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert od_client.post(f"/open/datasets/{OPEN}/rate", data={"stars": "9", "csrf_token": csrf}).status_code == 422
    r = od_client.post(f"/open/datasets/{OPEN}/comment", data={"body": "数据很有用，希望按日更新。", "csrf_token": csrf})
    assert r.status_code == 200 and "数据很有用" in r.text and "1 人评分" in r.text
    cid = int(re.search(r"/open/comments/(\d+)/report", r.text).group(1))
    for _ in range(3):
        od_client.post(f"/open/comments/{cid}/report", data={"csrf_token": csrf})
    assert "数据很有用" not in od_client.get(f"/open/datasets/{OPEN}").text


def test_application_flow(od_client):
    login(od_client, "gaj_staff")
    csrf = csrf_of(od_client, f"/open/datasets/{COND}")
    short = od_client.post(f"/open/datasets/{COND}/apply", data={"purpose": "看看", "csrf_token": csrf})
    assert short.status_code == 422 and "用途" in short.text
    od_client.post(f"/open/datasets/{COND}/apply", data={"purpose": "统计全市企业分布，用于课题研究。", "csrf_token": csrf})
    assert "待审批" in od_client.get(f"/open/datasets/{COND}").text
    assert od_client.get(f"/open/datasets/{COND}/download.csv").status_code == 403
    assert od_client.get("/open/inbox").status_code == 403  # staff is not a data officer
    od_client.cookies.clear()
    login(od_client, "gaj_officer")  # a data officer of another department sees nothing to approve
    assert "统计全市企业分布" not in od_client.get("/open/inbox").text
    od_client.cookies.clear()
    login(od_client, "scjgj_officer")
    inbox = od_client.get("/open/inbox")
    assert "统计全市企业分布" in inbox.text
    app_id = re.search(r"/open/applications/(\d+)/decide", inbox.text).group(1)
    csrf = csrf_of(od_client, "/open/inbox")
    r = od_client.post(f"/open/applications/{app_id}/decide", data={"decision": "approve", "comment": "同意", "csrf_token": csrf})
    assert r.status_code == 200 and "已批准" in r.text
    od_client.cookies.clear()
    login(od_client, "gaj_staff")
    got = od_client.get(f"/open/datasets/{COND}/download.csv").content.decode("utf-8-sig")
    assert got.splitlines()[0] == "站点编码,站点名称,区划,pH 值,监测日期,序号,管护人"
    assert 'id="preview"' in od_client.get(f"/open/datasets/{COND}").text
    from citybase.core.audit import service as audit
    from citybase.db import make_session

    with make_session() as s:
        actions = [e.action for e in audit.entries_for_object(s, "opendata_application", app_id)]
    assert actions == ["opendata.apply", "opendata.decide"]


def test_demand_channel(od_client):
    csrf = csrf_of(od_client, "/open/demands")
    r = od_client.post("/open/demands", data={"title": "停车场泊位数据", "description": "希望开放全市公共停车场的实时空余泊位。",
                                               "contact": "13800001111", "csrf_token": csrf})
    assert r.status_code == 200 and "停车场泊位数据" in r.text and "13800001111" not in r.text
    assert od_client.post("/open/demands", data={"title": "x", "description": "y", "csrf_token": csrf}).status_code == 422
    demand_id = re.search(r'id="demand-(\d+)"', r.text).group(1)
    login(od_client, "dsj_officer")
    admin = od_client.get("/open/admin")
    assert admin.status_code == 200 and "停车场泊位数据" in admin.text and 'id="share-api">50.0%' in admin.text
    csrf = csrf_of(od_client, "/open/admin")
    od_client.post(f"/open/demands/{demand_id}/route", data={"org_code": "320200-scjgj", "csrf_token": csrf})
    od_client.cookies.clear()
    login(od_client, "gaj_officer")
    assert od_client.get("/open/admin").status_code == 403  # not the bureau
    od_client.cookies.clear()
    login(od_client, "scjgj_officer")
    csrf = csrf_of(od_client, "/open/inbox")
    od_client.post(f"/open/demands/{demand_id}/answer", data={"answer": "已纳入明年开放计划。", "resource_code": "",
                                                              "csrf_token": csrf})
    od_client.cookies.clear()
    public = od_client.get("/open/demands").text
    assert "已纳入明年开放计划" in public and "已答复" in public


def test_developer_key_registration(od_client):
    csrf = csrf_of(od_client, "/open/developers")
    bad = od_client.post("/open/developers", data={"name": "应用", "email": "not-an-email", "csrf_token": csrf})
    assert bad.status_code == 422 and "邮箱" in bad.text
    r = od_client.post("/open/developers", data={"name": "水质小程序", "email": "dev@example.com", "csrf_token": csrf})
    key = re.search(r'id="api-key"><code>([^<]+)</code>', r.text).group(1)
    assert key.startswith("cbod_")
    call = od_client.get("/api/3/action/package_list", headers={"X-CKAN-API-Key": key})
    assert call.status_code == 200 and int(call.headers["X-RateLimit-Limit"]) >= 100
    from citybase.db import make_session
    from citybase.opendata.service import developers

    with make_session() as s:
        dev = developers.list_developers(s)[0]
        assert dev.calls == 1 and dev.key_hash != key and key not in json.dumps(dev.key_prefix)[20:]
