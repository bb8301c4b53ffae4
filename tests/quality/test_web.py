"""Quality pages and API over HTTP: report with charts, rule editing, objections through the forms."""

from __future__ import annotations

import re

import pytest

from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope
from citybase.lake import service as lake
from tests.conftest import csrf_of, login
from tests.lake.helpers import PERSONS_CSV, make_resource, write

HTML = {"accept": "text/html"}


@pytest.fixture
def code(city, tmp_path):
    bad = PERSONS_CSV + "11010519491231002X,重复,女,1949-12-31,1380013800\n"
    with session_scope() as s:
        code = make_resource(s)
        lake.ingest_file(s, SYSTEM, code, write(tmp_path / "p.csv", bad))
    return code


def test_overview_and_report_page(client, code):
    login(client, "gaj_staff")
    home = client.get("/quality", headers=HTML).text
    assert "质量总览" in home and code in home and "chart-overview" in home
    page = client.get(f"/quality/{code}", headers=HTML).text
    assert "综合得分" in page and "echarts.min.js" in page and "chart-trend" in page
    assert "公民身份号码 不能重复" in page and "发现问题" in page
    assert "11010519491231002X" not in page and "110105********002X" in page  # samples masked
    assert 'id="rule-form"' not in page  # staff cannot edit rules


def test_officer_adds_a_rule_and_report_updates(client, code):
    login(client, "gaj_officer")
    token = csrf_of(client, f"/quality/{code}")
    r = client.post(f"/quality/{code}/rules", data={"csrf_token": token, "rule_type": "length", "column": "name",
                                                    "min_value": "3", "max_value": "3"}, follow_redirects=True)
    assert r.status_code == 200 and "已添加规则并重新检核" in r.text
    assert "姓名 长度须在 3 至 3 之间" in r.text
    gx = client.get(f"/api/quality/resources/{code}/report").json()
    length = [x for x in gx["results"] if x["expectation_config"]["type"] == "expect_column_value_lengths_to_be_between"]
    assert length[0]["result"]["unexpected_count"] == 4  # every name has two characters
    bad = client.post(f"/quality/{code}/rules", data={"csrf_token": token, "rule_type": "regex", "column": "name",
                                                      "pattern": "(["}, follow_redirects=True)
    assert "正则表达式有误" in bad.text


def test_objection_through_the_forms(client, code):
    login(client, "scjgj_officer")
    token = csrf_of(client, f"/quality/objections/new?resource={code}")
    r = client.post("/quality/objections/new", data={"csrf_token": token, "resource_code": code, "scope": "field",
                                                     "field_name": "mobile", "description": "号码位数不足",
                                                     "evidence": "回访记录"}, follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    detail = client.get(url, headers=HTML).text
    assert "待答复" in detail and "提交答复" not in detail
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, "gaj_officer")
    inbox = client.get("/quality/objections?box=inbox", headers=HTML).text
    assert "号码位数不足" in inbox
    token = csrf_of(client, url)
    oid = re.search(r"/quality/objections/(\d+)", url).group(1)
    client.post(f"/quality/objections/{oid}/answer", data={"csrf_token": token, "decision": "reject", "reason": ""})
    assert "待答复" in client.get(url, headers=HTML).text  # a rejection without a reason is refused
    client.post(f"/quality/objections/{oid}/answer", data={"csrf_token": token, "decision": "accept",
                                                           "reason": "下次导出前核实"})
    page = client.get(url, headers=HTML).text
    assert "已采纳" in page and "下次导出前核实" in page and "请先归集修正后的新版本数据" in page
