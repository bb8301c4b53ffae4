"""The ingest wizard and the quality report in Chromium, as a department's data officer uses them."""

from __future__ import annotations

import pytest

from citybase.db import session_scope
from tests.conftest import shot
from tests.lake.helpers import PERSONS_CSV, make_resource

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "citybase2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_wizard_to_quality_report(live_server, page, tmp_path):
    with session_scope() as s:
        code = make_resource(s)
    rows = PERSONS_CSV + "11010519491231002X,张三丰,男,1949-12-31,1380013800\n" \
                         "32020519900202002x,钱七,女,1990-02-03,13600000000\n"
    f = tmp_path / "户籍人口2026-11.csv"
    f.write_bytes(rows.encode("gbk"))
    _login(page, live_server, "gaj_officer")
    page.goto(f"{live_server}/lake/{code}/ingest")
    page.set_input_files("input[name=file]", str(f))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    assert page.inner_text("#detected-encoding") == "gbk"
    shot(page, "lake-wizard-mapping")
    page.click("#start-ingest")
    page.wait_for_selector("#ingest-done", timeout=60_000)
    shot(page, "lake-wizard-done")
    page.click("text=查看质量报告")
    page.wait_for_selector("#chart-dims canvas, #chart-dims svg")
    page.wait_for_selector("#chart-trend canvas, #chart-trend svg")
    assert "公民身份号码 不能重复" in page.inner_text("#results")
    page.click("#results details summary >> nth=0")
    shot(page, "quality-report")
    page.goto(f"{live_server}/lake/{code}")
    assert "第 1 版" in page.inner_text("#versions")
    shot(page, "lake-versions")
    page.goto(f"{live_server}/quality/objections/new?resource={code}&field=mobile")
    page.fill("textarea[name=description]", "部分联系电话位数不足")
    page.click("#objection-form button[type=submit]")
    page.wait_for_selector("#history")
    assert "待答复" in page.inner_text("#status")
    page.select_option("select[name=decision]", "accept")
    page.fill("textarea[name=reason]", "下次导出前由派出所核实")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector("text=已采纳（待修正）")
    shot(page, "quality-objection")
    page.goto(f"{live_server}/quality")
    page.wait_for_selector("#chart-overview canvas, #chart-overview svg")
    shot(page, "quality-overview")
