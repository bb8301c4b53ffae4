"""db.insert_rows / insert_many (one JSON-fed statement on PostgreSQL, executemany on SQLite) store
exactly what an ORM insert stores. (db.reserve_ids under concurrency: tests/events/test_batching.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.events.conftest import point_in


def _order(ev) -> str:  # noqa: ANN001
    from citybase.db import session_scope
    from citybase.events import service
    from citybase.events.schemas import IntakeIn

    lon, lat = point_in()
    with session_scope() as s:
        out = service.intake(s, ev.operator, IntakeIn(channel="api", description="井盖缺失", lon=lon, lat=lat,
                                                       type_code="TGARB"))
    return out.number


def test_bulk_rows_read_back_like_orm_rows(ev):
    from citybase.db import insert_rows, make_session, session_scope
    from citybase.events.models import OrderEvent, WorkOrder

    number = _order(ev)
    with make_session() as s:
        order_id = s.execute(select(WorkOrder.id).where(WorkOrder.number == number)).scalar_one()
    beijing = timezone(timedelta(hours=8))
    ts = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=beijing)  # stored as UTC either way
    detail = {"说明": "含中文与\t制表符、换行\n和反斜杠\\", "n": [1, 2.5, None], "ok": True}
    row = {"order_id": order_id, "ts": ts, "actor": "tester", "action": "bulk", "from_status": None,
           "to_status": "x", "note": "a\tb\nc\\d", "detail": detail}
    with session_scope() as s:
        insert_rows(s, OrderEvent.__table__, [dict(row, action="bulk")] * 25)
        s.add(OrderEvent(**dict(row, action="orm")))
    with make_session() as s:
        got = {e.action: e for e in s.execute(select(OrderEvent).where(OrderEvent.order_id == order_id,
                                                                        OrderEvent.actor == "tester")).scalars()}
        count = len(s.execute(select(OrderEvent.id).where(OrderEvent.action == "bulk")).all())
    assert count == 25
    bulk, orm = got["bulk"], got["orm"]
    assert bulk.ts == orm.ts == ts.astimezone(UTC)
    assert (bulk.detail, bulk.note, bulk.from_status) == (orm.detail, orm.note, orm.from_status) == \
        (detail, row["note"], None)


def test_bulk_rows_refuse_naive_datetimes_and_write_nothing(ev):
    from citybase.db import insert_rows, make_session, session_scope
    from citybase.events.models import OrderEvent, WorkOrder

    number = _order(ev)
    with make_session() as s:
        order_id = s.execute(select(WorkOrder.id).where(WorkOrder.number == number)).scalar_one()
    rows = [{"order_id": order_id, "ts": datetime(2026, 3, 1, 9, 30), "actor": "naive", "action": "bulk",
             "from_status": None, "to_status": None, "note": "", "detail": {}}] * 30
    with pytest.raises(Exception, match="naive datetime"), session_scope() as s:
        insert_rows(s, OrderEvent.__table__, rows)
    with make_session() as s:
        assert s.execute(select(OrderEvent.id).where(OrderEvent.actor == "naive")).first() is None
