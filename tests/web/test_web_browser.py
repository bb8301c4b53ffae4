"""Real headless Chromium: the admin creates a user and a token; the auditor verifies the ledger;
the admin cannot open the ledger page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import browser_login, shot

pytestmark = pytest.mark.browser



def test_admin_creates_user_and_token(live_server, page):
    browser_login(page, live_server, "admin")
    shot(page, "home-admin")
    page.goto(f"{live_server}/admin/users")
    page.fill("#user-form input[name=username]", "wang.gang")
    page.fill("#user-form input[name=display_name]", "王刚")
    page.fill("#user-form input[name=org_code]", "320213")
    page.select_option("#user-form select[name=role]", "grid_worker")
    page.fill("#user-form input[name=password]", "wangge2026")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("text=已创建用户 wang.gang")
    assert "网格员" in page.inner_text("#users")
    shot(page, "admin-users")

    page.goto(f"{live_server}/admin/tokens")
    page.fill("#token-form input[name=username]", "wang.gang")
    page.fill("#token-form input[name=name]", "移动端")
    page.click("#token-form button[type=submit]")
    token = page.inner_text("#new-token").strip()
    assert token.startswith("cbt_")
    shot(page, "admin-token-created")
    # the token works for a machine, and the page never shows it again
    import httpx

    me = httpx.get(f"{live_server}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "wang.gang"
    page.goto(f"{live_server}/admin/tokens")
    assert token not in page.content()


def test_auditor_verifies_ledger_and_admin_cannot_open_it(live_server, page):
    browser_login(page, live_server, "admin")
    page.goto(f"{live_server}/audit")
    assert "没有权限" in page.content()
    shot(page, "admin-denied-ledger")
    page.click("text=退出")
    page.wait_for_load_state("networkidle")

    browser_login(page, live_server, "auditor")
    page.goto(f"{live_server}/audit")
    assert page.locator("#ledger tbody tr").count() > 0
    page.click("#verify-btn")
    page.wait_for_selector("#verify-status")
    assert "账本完整" in page.inner_text("#verify-status")
    shot(page, "auditor-ledger-verified")


def test_the_ledger_reads_in_chinese_filters_and_exports(live_server, page):
    import csv
    import io

    from tests.conftest import no_horizontal_scroll

    browser_login(page, live_server, "admin")  # leaves 登录 entries with a name and an organisation
    page.click("text=退出")
    page.wait_for_load_state("networkidle")
    browser_login(page, live_server, "auditor")
    page.goto(f"{live_server}/audit")
    rows = page.locator("#ledger tbody tr")
    assert rows.count() > 0
    text = page.inner_text("#ledger")
    assert "登录认证 · 登录" in text and "系统管理员" in text and "auth.login" not in text
    assert "{" not in text  # details are label/value pairs, not JSON
    no_horizontal_scroll(page)
    nav = page.inner_text("nav")
    assert "安全审计" in nav and "数据资源目录" not in nav and "开放平台" not in nav
    page.select_option("select[name=action]", "auth.")
    page.fill("input[name=actor]", "admin")
    page.click("#ledger-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert all("登录认证" in t for t in page.locator("#ledger tbody tr td:nth-child(4)").all_inner_texts())
    shot(page, "auditor-ledger-readable")
    with page.expect_download() as dl:
        page.click("#export-csv")
    body = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:5] == ["序号", "时间", "操作人", "单位", "操作"] and len(table) > 1
    assert {r[5].split(".")[0] for r in table[1:]} == {"auth"}
    page.goto(f"{live_server}/audit?action=audit.")
    assert "导出审计记录" in page.inner_text("#ledger")  # the export itself is on the ledger
