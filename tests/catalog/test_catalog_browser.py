"""Headless Chromium: a department registers a resource with its 信息项 table, submits it; the bureau
returns it with a comment from the review inbox; anyone searches the catalogue in Chinese and pinyin."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login, shot

pytestmark = pytest.mark.browser



def _logout(page) -> None:
    page.click("text=退出")
    page.wait_for_load_state("networkidle")


def test_search_register_submit_and_return(live_server, page):
    from citybase.catalog import demo

    demo.load()
    browser_login(page, live_server, "gaj_officer")
    page.goto(f"{live_server}/catalog")
    page.fill("input[name=q]", "hjrk")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#result-count")
    assert page.locator(".hit h3 a").first.inner_text() == "户籍人口信息"
    shot(page, "catalog-search-pinyin")
    page.goto(f"{live_server}/catalog")
    page.click(".facet a:has-text('不予共享')")
    page.wait_for_selector(".chip")
    assert "社区矫正对象信息" in page.inner_text(".cat-layout")
    assert "户籍人口信息" not in page.inner_text(".cat-layout")
    shot(page, "catalog-facet")
    page.goto(f"{live_server}/catalog/r/101001-0001")
    assert "L4 敏感" in page.inner_text("#fields")
    shot(page, "catalog-detail")

    page.goto(f"{live_server}/catalog/new")
    page.fill("input[name=name]", "居住证办理信息")
    page.fill("input[name=class_code]", "301001")
    page.fill("input[name=class_name]", "公安/居住证")
    page.fill("input[name=share_condition]", "仅限政务服务核验")
    rows = page.locator("#fields-table tbody tr")
    rows.nth(0).locator("input[name=f_name]").fill("gmsfhm")
    rows.nth(0).locator("input[name=f_label]").fill("公民身份号码")
    rows.nth(0).locator("select[name=f_element]").select_option("cn_id_card")
    rows.nth(0).locator("select[name=f_grading]").select_option("L4")
    rows.nth(0).locator("select[name=f_is_key]").select_option("是")
    rows.nth(0).locator("select[name=f_nullable]").select_option("否")
    page.click("#add-field")
    rows.nth(1).locator("input[name=f_name]").fill("xm")
    rows.nth(1).locator("input[name=f_label]").fill("姓名")
    rows.nth(1).locator("select[name=f_grading]").select_option("L3")
    page.click("#add-field")
    rows.nth(2).locator("input[name=f_name]").fill("jzzyxq")
    rows.nth(2).locator("input[name=f_label]").fill("有效期至")
    rows.nth(2).locator("select[name=f_data_type]").select_option("date")
    shot(page, "catalog-form")
    page.click("#save")
    page.wait_for_selector("text=已创建草稿")
    assert [c.inner_text() for c in page.locator("#fields tbody tr td:nth-child(3)").all()] == \
        ["公民身份号码", "姓名", "有效期至"]
    assert [c.inner_text() for c in page.locator("#fields tbody tr td:nth-child(5)").all()] == \
        ["居民身份证号码", "自由文本", "自由文本"]
    assert [c.inner_text() for c in page.locator("#fields tbody tr td:nth-child(6)").all()] == \
        ["L4 敏感", "L3 较敏感", "L1 不敏感"]
    code = page.url.split("/catalog/r/")[1].split("?")[0]
    page.click("text=提交大数据管理局审核")
    page.wait_for_selector("text=已提交大数据管理局审核")
    assert page.inner_text("#status") == "待审核"
    _logout(page)

    browser_login(page, live_server, "dsj_officer")
    page.goto(f"{live_server}/catalog/review")
    card = page.locator(f"#queue-{code}")
    card.locator("textarea[name=comment]").fill("请补充居住地址信息项，地址定为 L3")
    shot(page, "catalog-review-inbox")
    card.locator("button[value=return]").click()
    page.wait_for_selector("text=已退回提供方修改")
    assert page.locator(f"#queue-{code}").count() == 0
    _logout(page)

    browser_login(page, live_server, "gaj_officer")
    page.goto(f"{live_server}/catalog?scope=mine")
    page.click(f"a[href='/catalog/r/{code}']")
    assert "请补充居住地址信息项" in page.inner_text("#review-comment")
    shot(page, "catalog-returned")
