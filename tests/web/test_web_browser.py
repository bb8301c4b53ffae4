"""Real headless Chromium: the admin creates a user and a token; the auditor verifies the ledger;
the admin cannot open the ledger page."""

from __future__ import annotations

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
