"""Headless Chromium: a visitor searches the open-data portal in Chinese and by facet, opens a dataset,
previews it and downloads it; a logged-in user applies for 有条件开放 data and the provider approves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import browser_login, shot
from tests.opendata.conftest import COND, N_ROWS, OPEN

pytestmark = pytest.mark.browser



def test_portal_search_preview_and_download(od_city, live_server, page):
    page.goto(f"{live_server}/open")
    assert page.inner_text("#fig-datasets") == "2"
    page.wait_for_selector("#chart-org canvas")
    shot(page, "opendata-home")
    page.fill(".od-hero input[name=q]", "水质")
    page.press(".od-hero input[name=q]", "Enter")
    page.wait_for_selector("#result-count")
    assert page.locator(".od-hit h3 a").first.inner_text() == "测试水质开放数据"
    shot(page, "opendata-search")
    page.goto(f"{live_server}/open/search")
    page.click(".od-facet a:has-text('有条件开放')")
    page.wait_for_selector(".od-chips")
    assert page.locator(".od-hit h3 a").all_inner_texts() == ["测试企业有条件数据"]
    page.goto(f"{live_server}/open/search")
    page.click(".od-hit h3 a:has-text('测试水质开放数据')")
    page.wait_for_selector("#preview")
    assert page.locator("#preview tr").count() == 21
    assert "管护人电话" in page.inner_text("#withheld")
    shot(page, "opendata-dataset")
    with page.expect_download() as dl:
        page.click("#downloads a:has-text('CSV（UTF-8）')")
    path = dl.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert len(rows) == N_ROWS + 1 and "keeper_phone" not in rows[0]
    assert OPEN in dl.value.suggested_filename and dl.value.suggested_filename.startswith("测试水质开放数据")


def test_apply_and_approve(od_city, live_server, page):
    browser_login(page, live_server, "gaj_staff")
    page.goto(f"{live_server}/open/datasets/{COND}")
    page.fill("textarea[name=purpose]", "研究全市企业分布，用于课题报告。")
    page.click("button:has-text('提交申请')")
    page.wait_for_selector("text=申请已提交")
    shot(page, "opendata-applied")
    page.click("text=退出")
    browser_login(page, live_server, "scjgj_officer")
    page.goto(f"{live_server}/open/inbox")
    assert "研究全市企业分布" in page.inner_text("body")
    shot(page, "opendata-inbox")
    page.click("button:has-text('批准')")
    page.wait_for_selector("text=已批准")
    page.click("text=退出")
    browser_login(page, live_server, "gaj_staff")
    page.goto(f"{live_server}/open/datasets/{COND}")
    page.wait_for_selector("#preview")
    assert "负责人身份证号" in page.inner_text("#withheld")


def test_the_portal_on_a_phone(od_city, live_server, phone):
    from tests.conftest import no_horizontal_scroll

    phone.goto(f"{live_server}/open")
    phone.wait_for_selector("#chart-org canvas")
    no_horizontal_scroll(phone)
    fig = phone.locator(".od-fig").first.bounding_box()
    assert fig["width"] > 120  # stat cards keep their words on a line, two to a row
    assert phone.locator(".od-nav a:has-text('随手拍')").count() == 1
    shot(phone, "opendata-home-phone")
    phone.goto(f"{live_server}/open/search?q=水质")
    no_horizontal_scroll(phone)
    hit, facets = phone.locator(".od-hit").first.bounding_box(), phone.locator(".od-facet").bounding_box()
    assert hit["width"] > 300 and facets["y"] > hit["y"]  # results first, full width; facets below
    shot(phone, "opendata-search-phone")
    phone.goto(f"{live_server}/open/datasets/{OPEN}")
    phone.wait_for_selector("#preview")
    no_horizontal_scroll(phone)  # the preview table scrolls inside its box, the page does not
    shot(phone, "opendata-dataset-phone")
