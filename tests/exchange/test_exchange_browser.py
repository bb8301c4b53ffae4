"""Real headless Chromium: a department requests conditional data from the catalogue, the provider's
data officer narrows and approves it in the inbox, and the department reads the granted rows."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login, shot
from tests.exchange.conftest import COND

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:
    page.context.clear_cookies()  # several users take turns in one browser
    browser_login(page, base, username)


def test_request_approve_query(shared_server, page):
    base = shared_server
    # the consumer finds the resource in the catalogue and asks for part of it
    _login(page, base, "rsj_officer")
    page.goto(f"{base}/catalog/r/{COND}")
    page.click("text=申请共享")
    page.wait_for_selector("#request-form")
    for name in ("sfzh", "xm", "nl", "xzqh"):
        page.check(f"#f-{name}")
    page.select_option("select[name=f_field_0]", "xzqh")
    page.select_option("select[name=f_op_0]", "in")
    page.fill("input[name=f_value_0]", "320213, 320214")
    page.fill("#purpose", "养老保险待遇领取资格认证")
    page.fill("#legal_basis", "《社会保险法》第八条")
    shot(page, "exchange-request-form")
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("text=申请已提交")
    assert "待审批" in page.inner_text("h1")
    shot(page, "exchange-request-submitted")

    # the provider's data officer sees it with its working-day countdown and narrows it
    _login(page, base, "gaj_officer")
    page.goto(f"{base}/exchange/inbox")
    assert "剩 10 个工作日" in page.inner_text("table")
    shot(page, "exchange-inbox")
    page.click("td a.btn:has-text('审批')")
    page.wait_for_selector("#decide")
    page.uncheck("#a-sfzh")  # no ID numbers for this purpose
    page.select_option("select[name=a_field_0]", "xzqh")
    page.select_option("select[name=a_op_0]", "=")
    page.fill("input[name=a_value_0]", "320213")
    page.fill("#rate", "30")
    shot(page, "exchange-approve")
    page.click("text=批准并授权")
    page.wait_for_selector("text=已批准，授权即时生效")
    shot(page, "exchange-approved")

    # a staff member of the consumer reads the granted, masked rows
    _login(page, base, "rsj_staff")
    page.goto(f"{base}/exchange/grants")
    page.click("text=查询数据")
    page.wait_for_selector("#shared-rows")
    headers = page.locator("#shared-rows thead th").all_inner_texts()
    assert headers == ["姓名", "年龄", "行政区划代码"]
    cells = page.locator("#shared-rows tbody tr td:nth-child(3)").all_inner_texts()
    assert cells and set(cells) == {"320213"}
    names = page.locator("#shared-rows tbody tr td:nth-child(1)").all_inner_texts()
    assert all("*" in n for n in names)
    shot(page, "exchange-data")

    # the bureau sees the request in its overview, with charts
    _login(page, base, "dsj_officer")
    page.goto(f"{base}/exchange/overview")
    page.wait_for_selector("#chart-states canvas")
    assert "公共数据按需共享率" in page.inner_text("main")
    assert "100.0%" in page.inner_text(".figs")
    shot(page, "exchange-overview")
