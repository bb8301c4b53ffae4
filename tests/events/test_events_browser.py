"""One order through the whole loop in a real browser: hotline intake → dispatch → sign → handle with a
photo → on-site verification → callback → 办结. A screenshot at each step (test-artifacts/)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import shot
from tests.events.conftest import point_in

pytestmark = pytest.mark.browser


def login_as(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "citybase2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_order_through_the_whole_loop(live_server, ev, page, tmp_path):
    from citybase.core.identity import service as identity
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from tests.events.test_flow import png_bytes

    with session_scope() as s:
        identity.set_password(s, SYSTEM, "cgj_staff", "citybase2026")
    base = live_server
    lon, lat = point_in()

    # 1. the operator registers a hotline call
    login_as(page, base, "operator")
    page.goto(f"{base}/events/new")
    page.fill("textarea[name=description]", "市民来电：东亭街道二泉东路口有一堆生活垃圾，已经两天没人清理，气味很大。")
    page.fill("input[name=address]", "锡山区东亭街道二泉东路与东亭路交叉口")
    page.fill("input[name=lon]", str(lon))
    page.fill("input[name=lat]", str(lat))
    page.select_option("select[name=type_code]", "TGARB")
    page.fill("input[name=reporter_name]", "王先生")
    page.fill("input[name=reporter_phone]", "13912345678")
    shot(page, "events-01-intake-form")
    page.click("#intake-form button[type=submit]")
    page.wait_for_url(re.compile(r"/events/orders/\d+"))
    number = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "139****5678" in page.content() and "13912345678" not in page.content()
    shot(page, "events-02-received")

    # 2. dispatch by the catalogue (属地: 锡山区城市管理局)
    page.click("#form-dispatch button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已派单" in page.content() and "锡山区城市管理局" in page.content()
    shot(page, "events-03-dispatched")

    # 3. the unit signs, works and reports back with a photo
    login_as(page, base, "cgj_staff")
    page.goto(f"{base}/events/inbox")
    assert number in page.content()
    shot(page, "events-04-unit-inbox")
    page.click(f"text={number}")
    page.click("#form-sign button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("#form-start button[type=submit]")
    page.wait_for_load_state("networkidle")
    photo = tmp_path / "after.png"
    photo.write_bytes(png_bytes((320, 240)))
    page.fill("#form-feedback textarea[name=note]", "已安排环卫车辆清运，现场已清理干净并消杀。")
    page.set_input_files("#form-feedback input[type=file]", str(photo))
    page.click("#form-feedback button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "核查" in page.content()
    shot(page, "events-05-feedback")

    # 4. the grid worker verifies on site
    login_as(page, base, "grid_worker")
    page.goto(f"{base}/events/inbox")
    assert number in page.content()
    page.goto(f"{base}/events/orders/{number}")
    page.fill("#form-verify input[name=note]", "现场核实，垃圾已清运")
    page.click("#form-verify button[value=verify_pass]")
    page.wait_for_load_state("networkidle")
    assert "已核查通过" in page.content()
    shot(page, "events-06-verified")

    # 5. the operator calls back (sees the phone, audited) and closes
    login_as(page, base, "operator")
    page.goto(f"{base}/events/orders/{number}")
    page.click("text=查看完整号码（将记入审计）")
    page.wait_for_load_state("networkidle")
    assert "13912345678" in page.content()
    page.select_option("#form-callback select[name=result]", "satisfied")
    page.fill("#form-callback input[name=note]", "王先生对处理结果表示满意")
    page.click("#form-callback button[type=submit]")
    page.wait_for_load_state("networkidle")
    content = page.content()
    assert "办结" in content and "回访满意" in content
    shot(page, "events-07-closed")

    # the board and the statistics show it
    page.goto(f"{base}/events/stats?by=unit")
    page.wait_for_timeout(500)
    assert "锡山区城市管理局" in page.content()
    shot(page, "events-08-stats")
