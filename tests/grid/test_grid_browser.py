"""Real headless Chromium: the grid map draws the generated grids over the real districts; clicking a
grid shows its code, community, street, workers and open orders; an operator assigns a worker."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login, shot

pytestmark = pytest.mark.browser



def _click_grid(page, lon: float, lat: float) -> None:
    px = page.evaluate(f"window.cbGridChart.convertToPixel({{geoIndex: 0}}, [{lon}, {lat}])")
    box = page.locator("#grid-map").bounding_box()
    page.mouse.click(box["x"] + px[0], box["y"] + px[1])


def test_grid_map_shows_grids_and_a_grid_on_click(live_server, page):
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session, session_scope
    from citybase.grid import service

    with session_scope() as s:
        result = service.generate(s, SYSTEM, seed=2026)
    with make_session() as s:
        grid = service.list_grids(s, street_code="320213021", size=1).items[0]  # 崇安寺街道 (梁溪区)
        other = service.list_grids(s, street_code="320213022", size=1).items[0]  # 清名桥街道
    with session_scope() as s:
        service.assign_worker(s, SYSTEM, grid.code, "grid_worker")

    page.set_default_timeout(60000)  # 4,000 polygons on a busy 2-core machine
    browser_login(page, live_server, "operator")
    page.goto(f"{live_server}/grid")
    page.wait_for_selector("#grid-map[data-ready='1']", timeout=60000)
    page.wait_for_timeout(600)  # let ECharts finish its first frame
    assert page.inner_text("#fig-grids") == str(result.grids)
    assert page.locator("#grid-map canvas").count() >= 1
    shot(page, "grid-map-city")

    # zoom to 梁溪区 and click the grid
    page.goto(f"{live_server}/grid?district=320213")
    page.wait_for_selector("#grid-map[data-ready='1']", timeout=60000)
    page.wait_for_timeout(400)
    _click_grid(page, *grid.centroid)
    page.wait_for_selector("#gi-code")
    assert page.inner_text("#gi-code") == grid.code
    info = page.inner_text("#grid-info")
    assert "崇安寺街道" in info and "梁溪区" in info and grid.community_name in info
    assert "grid_worker" in page.inner_text("#gi-workers")
    assert "未办结工单" in info and ("工单模块未启用" in info or "件" in info)
    shot(page, "grid-map-click")

    # look a point up by coordinates: the panel follows
    lon, lat = other.centroid
    page.fill("#loc-lon", str(lon))
    page.fill("#loc-lat", str(lat))
    page.click("#locate-form button")
    page.wait_for_function(f"document.getElementById('gi-code') && document.getElementById('gi-code').textContent === '{other.code}'")
    assert "清名桥街道" in page.inner_text("#grid-info")
    page.fill("#loc-lon", "116.40")
    page.fill("#loc-lat", "39.90")
    page.click("#locate-form button")
    page.wait_for_function("document.getElementById('grid-info').textContent.includes('不在本市任何网格内')")
    shot(page, "grid-map-outside")
