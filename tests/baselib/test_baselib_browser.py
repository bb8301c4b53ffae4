"""The base-library pages in Chromium, as the big-data bureau's data officer uses them."""

from __future__ import annotations

import pytest

from tests.baselib.helpers import A
from tests.conftest import browser_login, shot

pytestmark = pytest.mark.browser


def test_overview_rebuild_and_masked_sample(two_sources, live_server, page):
    gaj, rsj = two_sources
    browser_login(page, live_server, "dsj_officer")
    page.goto(f"{live_server}/baselib")
    card = page.locator("a.card", has_text="人口基础库")
    assert "待更新" in card.inner_text()  # its sources have versions it has not merged yet
    card.click()
    page.wait_for_url(f"{live_server}/baselib/population")
    assert "尚未构建" in page.inner_text("main")
    page.click("button:has-text('立即重建')")
    page.wait_for_url("**/baselib/population?flash=*")
    text = page.inner_text("main")
    assert "已完成第 1 次构建：3 条记录" in text and "主键无效被拒 1 条" in text
    page.wait_for_selector("#winners canvas, #winners svg")
    # the sample is masked: no clear ID number or name, and each value names the source that won it
    sample = page.inner_text("section:has(h2:text('记录抽样（已脱敏）')) table")
    assert A not in sample and "张三" not in sample and A[:6] in sample
    assert "户籍测试" in sample and "参保测试" in sample
    legend = page.evaluate("echarts.getInstanceByDom(document.getElementById('winners')).getOption()"
                           ".series.map(s => s.name)")
    assert sorted(legend) == [f"参保测试（{rsj}）", f"户籍测试（{gaj}）"]
    assert "联系电话 ← sj" in page.inner_text("main")
    shot(page, "baselib-population")
    page.goto(f"{live_server}/baselib")
    page.wait_for_selector("#coverage canvas, #coverage svg")
    bars = page.evaluate("echarts.getInstanceByDom(document.getElementById('coverage')).getOption().yAxis[0].data")
    # the key attributes of the population library, as declared (work unit is not one of them)
    assert sorted(bars) == sorted(f"人口·{x}" for x in ("姓名", "出生日期", "户籍地址", "联系电话", "社保参保状态"))
    assert "最新" in page.locator("a.card", has_text="人口基础库").inner_text()
    assert "3" in page.locator("a.card", has_text="人口基础库").locator(".num").inner_text()
    shot(page, "baselib-overview")
