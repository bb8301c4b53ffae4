"""Real Chromium: the overview map, device list and page with live chart, the alarm board
(acknowledge, clear) and the 太湖蓝藻 view, on a small demo city."""

from __future__ import annotations

import pytest

from citybase.db import make_session
from citybase.iot import demo, service
from tests.conftest import browser_login, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def small_city(live_server):
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.events import service as events

    with session_scope() as s:  # work orders for the demo's alarms need the problem types
        events.seed_problem_types(s, SYSTEM)
    service.limiter().reset()
    demo.load(scale=0.03, buoy_hours=24)
    return live_server


def test_operator_sees_map_device_and_handles_alarms(small_city, page):
    base = small_city
    browser_login(page, base, "operator")
    page.goto(f"{base}/iot")
    page.wait_for_selector("#device-map[data-ready='1']", timeout=15000)
    page.wait_for_timeout(500)
    assert "统一物联感知平台" in page.inner_text("h1")
    with make_session() as s:
        total = len(service.map_points(s))
    assert page.inner_text("#total-devices").strip() == str(total)
    shot(page, "iot-overview")

    page.goto(f"{base}/iot/devices?profile=manhole")
    rows = page.locator("#devices tr")
    assert rows.count() > 2
    first_code = page.locator("#devices tr >> nth=1 >> td >> nth=0").inner_text().strip()
    shot(page, "iot-devices")
    page.goto(f"{base}/iot/devices/{first_code}")
    page.wait_for_function("document.getElementById('live-chart').dataset.points > 0", timeout=15000)
    assert "井内水位" in page.inner_text("#latest")
    assert "静态属性" in page.content()
    shot(page, "iot-device")

    page.goto(f"{base}/iot/alarms")
    board = page.inner_text("#alarm-board")
    assert "紧急" in board or "重要" in board
    n_unack = page.locator("button.ack").count()
    assert n_unack > 0
    shot(page, "iot-alarms")
    page.locator("button.ack").first.click()
    page.wait_for_selector("text=告警已确认")
    assert page.locator("button.ack").count() == n_unack - 1
    page.locator("button.clear").first.click()
    page.wait_for_selector("text=告警已清除")
    page.goto(f"{base}/iot/alarms?status=CLEARED")
    assert "人工清除" in page.inner_text("#alarm-board")


def test_taihu_view_and_admin_registers_a_device(small_city, page):
    base = small_city
    browser_login(page, base, "gaj_staff")
    page.goto(f"{base}/iot/taihu?hours=24")
    page.wait_for_selector("#lake-map[data-ready='1']", timeout=15000)
    page.wait_for_selector("#trend-chla[data-ready='1']")
    page.wait_for_timeout(600)
    table = page.inner_text("#site-table")
    assert "梅梁湖" in table and "贡湖" in table
    shot(page, "iot-taihu")
    page.goto(f"{base}/logout")
    page.context.clear_cookies()
    browser_login(page, base, "admin")
    page.goto(f"{base}/iot/devices")
    page.select_option("#device-form select[name=profile]", "manhole")
    page.fill("#device-form input[name=code]", "3202130103999901")
    page.fill("#device-form input[name=name]", "学前街雨水井盖")
    page.fill("#device-form input[name=lon]", "120.305")
    page.fill("#device-form input[name=lat]", "31.575")
    page.click("#device-form button[type=submit]")
    page.wait_for_selector("#new-token")
    token = page.inner_text("#new-token").strip()
    with make_session() as s:
        assert service.authenticate_token(s, token).code == "3202130103999901"
    shot(page, "iot-device-registered")
