"""The lake's JSON API and pages over HTTP (the wizard end to end, versions, diff, permissions)."""

from __future__ import annotations

import re
import time

import pytest

from citybase.db import session_scope
from tests.conftest import csrf_of, login
from tests.lake.helpers import PERSONS_CSV, make_resource


@pytest.fixture
def code(city):
    with session_scope() as s:
        return make_resource(s)


def test_api_ingest_report_and_bad_file(client, code):
    login(client, "gaj_staff")
    token = csrf_of(client)
    r = client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": token},
                    files={"file": ("人口.csv", PERSONS_CSV.encode("gbk"), "text/csv")}, data={"mode": "replace"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"]["number"] == 1 and body["version"]["encoding"] == "gbk"
    assert body["quality"]["score"] is not None
    r = client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": token},
                    files={"file": ("x.csv", b"a,b\n", "text/csv")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "header_only"
    versions = client.get(f"/api/lake/resources/{code}/versions").json()
    assert [v["number"] for v in versions] == [1]
    rows = client.get(f"/api/lake/resources/{code}/versions/1/rows").json()
    assert rows["total"] == 3 and all("*" in r[0] for r in rows["rows"])  # ID numbers masked
    gx = client.get(f"/api/quality/resources/{code}/report").json()
    assert {"success", "statistics", "results"} <= set(gx)
    x = client.get(f"/api/quality/resources/{code}/report.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"


def test_other_departments_cannot_read_or_ingest(client, code):
    login(client, "scjgj_officer")
    assert client.get(f"/api/lake/resources/{code}/versions").status_code == 403
    r = client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": csrf_of(client)},
                    files={"file": ("p.csv", PERSONS_CSV.encode(), "text/csv")})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_provider"


def test_wizard_upload_map_progress_and_pages(client, code):
    login(client, "gaj_staff")
    page = client.get(f"/lake/{code}/ingest", headers={"accept": "text/html"})
    assert page.status_code == 200 and "上传文件" in page.text
    token = csrf_of(client, f"/lake/{code}/ingest")
    csv = PERSONS_CSV.replace("联系电话", "手机")  # not a 信息项 name: mapped by hand below
    r = client.post(f"/lake/{code}/ingest", data={"csrf_token": token, "encoding": "auto"},
                    files={"file": ("人口.csv", csv.encode("utf-8-sig"), "text/csv")})
    assert r.status_code == 200 and "列映射" in r.text and "utf-8-sig" in r.text
    action = re.search(r'action="(/lake/[^"]+/start)"', r.text).group(1)
    form = {"csrf_token": token, "mode": "replace", "encoding": "auto", "sheet": "",
            "map:公民身份号码": "id_number", "map:姓名": "name", "map:性别": "gender", "map:出生日期": "birth_date",
            "map:手机": "mobile"}
    r = client.post(action, data=form, follow_redirects=False)
    assert r.status_code == 303
    progress_url = r.headers["location"]
    for _ in range(200):
        frag = client.get(progress_url, headers={"hx-request": "true"}).text
        if "归集完成" in frag or "归集失败" in frag:
            break
        time.sleep(0.1)
    assert "归集完成" in frag and "第 1 版" in frag
    versions = client.get(f"/lake/{code}", headers={"accept": "text/html"}).text
    assert "第 1 版" in versions and "人口.csv" in versions
    v = client.get(f"/lake/{code}/v/1", headers={"accept": "text/html"}).text
    assert "138****8000" in v and "13800138000" not in v  # mobile mapped by hand, shown masked


def test_wizard_shows_a_clear_error_for_a_bad_file(client, code):
    login(client, "gaj_staff")
    token = csrf_of(client, f"/lake/{code}/ingest")
    r = client.post(f"/lake/{code}/ingest", data={"csrf_token": token},
                    files={"file": ("bad.csv", "姓名,Mobile,ＭＯＢＩＬＥ\n张三,1,2\n".encode(), "text/csv")})
    assert r.status_code == 422 and "列名规范化后重复" in r.text and "重新上传" in r.text


def test_diff_page(client, code):
    login(client, "gaj_staff")
    token = csrf_of(client)
    for text in (PERSONS_CSV, PERSONS_CSV.replace("王五", "赵六")):
        client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": token},
                    files={"file": ("p.csv", text.encode(), "text/csv")})
    page = client.get(f"/lake/{code}/diff?old=1&new=2", headers={"accept": "text/html"}).text
    assert re.search(r'id="n-changed">1<', page) and "赵*" in page
    d = client.get(f"/api/lake/resources/{code}/diff?old=1&new=2").json()
    assert (d["rows_added"], d["rows_removed"], d["rows_changed"]) == (0, 0, 1)


def test_catalogue_detail_shows_versions_panel(client, code):
    login(client, "gaj_staff")
    client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": csrf_of(client)},
                files={"file": ("p.csv", PERSONS_CSV.encode(), "text/csv")})
    page = client.get(f"/catalog/r/{code}", headers={"accept": "text/html"}).text
    assert "数据版本与血缘" in page and "第 1 版" in page and "归集新数据" in page


def test_overview_shows_waiting_resources_then_the_new_version(client, code):
    from citybase.catalog import service as catalog
    from citybase.core.identity.principal import SYSTEM

    with session_scope() as s:
        catalog.publish_direct(s, SYSTEM, code)
    login(client, "gaj_officer")
    page = client.get("/lake", headers={"accept": "text/html"})
    assert page.status_code == 200 and "数据归集" in page.text
    waiting = re.search(r'<section class="card" id="waiting">(.*?)</section>', page.text, re.S).group(1)
    assert f"/lake/{code}/ingest" in waiting  # published, no data yet, with the upload button
    assert re.search(r'<a href="/lake" class="active">数据归集</a>', page.text)  # in the menu
    token = csrf_of(client)
    r = client.post(f"/api/lake/resources/{code}/ingest", headers={"X-CSRF-Token": token},
                    files={"file": ("人口.csv", PERSONS_CSV.encode("gbk"), "text/csv")}, data={"mode": "replace"})
    assert r.status_code == 201
    page = client.get("/lake", headers={"accept": "text/html"}).text
    versions = re.search(r'<section class="card" id="versions">(.*?)</section>', page, re.S).group(1)
    waiting = re.search(r'<section class="card" id="waiting">(.*?)</section>', page, re.S).group(1)
    assert f"/lake/{code}/v/1" in versions and f"/lake/{code}/ingest" not in waiting
    client.cookies.clear()
    login(client, "scjgj_officer")  # another department sees its own resources only
    assert f"/lake/{code}" not in client.get("/lake", headers={"accept": "text/html"}).text
