"""The figures: 签收率, 按时办结率, 满意率, 结案率, 返工率, average handling time; board counts."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from citybase.events import service
from tests.events.conftest import act, new_order

SH = ZoneInfo("Asia/Shanghai")


def test_kpis_by_district_unit_and_type(ev):
    from datetime import datetime

    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session

    t0 = datetime(2025, 11, 17, 9, 0, tzinfo=SH)  # Monday; 4 working hours → due 14:30
    h = timedelta(hours=1)

    def dispatched() -> str:
        n = new_order(ev.grid_worker, now=t0)
        act(service.dispatch, ev.operator, n, now=t0)
        return n

    a, b, d = dispatched(), dispatched(), dispatched()
    c = new_order(ev.grid_worker, now=t0)
    act(service.reject, ev.operator, c, "重复上报")
    # A: on time everywhere, satisfied
    act(service.sign, ev.handler, a, now=t0 + timedelta(minutes=10))
    act(service.start, ev.handler, a)
    act(service.feedback, ev.handler, a, "已清理", now=t0 + h)
    act(service.verify, ev.grid_worker, a, True, now=t0 + 2 * h)
    act(service.callback, ev.operator, a, "satisfied", now=t0 + 3 * h)
    # B: signed late, reworked, fed back after the deadline
    act(service.sign, ev.handler, b, now=t0 + 2 * h)
    act(service.start, ev.handler, b)
    act(service.feedback, ev.handler, b, "已清理", now=t0 + 6 * h)
    act(service.verify, ev.grid_worker, b, False, "仍有残留", now=t0 + 6.5 * h)
    act(service.feedback, ev.handler, b, "已彻底清理", now=t0 + 7 * h)
    act(service.verify, ev.grid_worker, b, True, now=t0 + 8 * h)
    act(service.callback, ev.operator, b, "satisfied", now=t0 + 9 * h)
    with make_session() as s:
        by_district = {r["key"]: r for r in service.stats(s, SYSTEM, "district")}
        by_unit = {r["key"]: r for r in service.stats(s, SYSTEM, "unit")}
        by_type = {r["key"]: r for r in service.stats(s, SYSTEM, "type")}
        counts = service.counts_by_status(s, SYSTEM)
    r = by_district["320205"]
    assert r["name"] == "锡山区" and r["total"] == 4
    assert r["sign_rate"] == 33.3  # A of A, B, D
    assert r["ontime_rate"] == 50.0  # A of A, B
    assert r["satisfaction_rate"] == 100.0
    assert r["close_rate"] == 66.7  # 2 closed of 3 accepted (C rejected)
    assert r["rework_rate"] == 50.0
    assert r["avg_hours"] == 4.0  # (1 h + 7 h) / 2, dispatch → feedback
    assert by_unit["320205-cgj"]["total"] == 3 and by_unit["320205-cgj"]["name"] == "锡山区城市管理局"
    assert by_type["TGARB"]["name"] == "暴露垃圾" and by_type["TGARB"]["total"] == 4
    assert counts == {"closed": 2, "dispatched": 1, "rejected": 1}
    assert d


def test_board_columns(ev):
    from datetime import UTC, datetime

    from citybase.db import make_session

    fresh = new_order(ev.grid_worker)
    to_dispatch = new_order(ev.grid_worker)
    act(service.triage, ev.operator, to_dispatch)
    old = new_order(ev.grid_worker, now=datetime(2025, 11, 17, 1, 0, tzinfo=UTC))
    act(service.dispatch, ev.operator, old, now=datetime(2025, 11, 17, 1, 0, tzinfo=UTC))
    with make_session() as s:
        board = service.board(s, ev.operator)
    assert [o.number for o in board["new"][0]] == [fresh]
    assert [o.number for o in board["to_dispatch"][0]] == [to_dispatch]
    assert [o.number for o in board["overdue"][0]] == [old]
    assert board["near_due"][1] == 0
