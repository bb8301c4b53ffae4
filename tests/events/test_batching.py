"""Group commit of intake: several problems in one transaction, each with its own result, its own
timeline and its own ledger entry; one bad request never takes the others down."""

from __future__ import annotations

import threading

import pytest

from citybase.core.errors import BadInput, CitybaseError
from citybase.events import batching, service
from citybase.events.schemas import IntakeIn
from tests.events.conftest import HANDLER_UNIT, as_user, fetch, point_in


def _item(description: str = "东亭路口有一堆暴露垃圾", **kw) -> IntakeIn:
    lon, lat = kw.pop("point", None) or point_in()
    return IntakeIn(channel=kw.pop("channel", "api"), description=description, lon=lon, lat=lat,
                    type_code=kw.pop("type_code", "TGARB"), **kw)


def test_a_batch_returns_each_problem_its_own_result(ev):
    from citybase.core.audit import service as audit
    from citybase.core.identity.principal import SYSTEM
    from citybase.db import make_session, session_scope

    items = [
        (ev.operator, _item(external_id="sys-1")),
        (ev.operator, _item(point=(121.9, 35.0))),  # far outside the city
        (ev.operator, _item(type_code="NOPE")),
        (ev.operator, _item(external_id="sys-1")),  # the same alarm twice in one batch
        (ev.grid_worker, _item(description="   ")),
        (ev.operator, _item(description="路灯不亮", external_id="sys-2")),
    ]
    with session_scope() as s:
        outs = service.intake_many(s, items)
    assert [type(o).__name__ for o in outs] == ["OrderOut", "BadInput", "BadInput", "OrderOut", "BadInput",
                                                "OrderOut"]
    assert outs[1].code == "outside_city" and outs[2].code == "unknown_type"
    assert outs[4].code == "missing_description"
    assert outs[3].number == outs[0].number  # registered once
    first, last = fetch(outs[0].number), fetch(outs[5].number)
    assert first.status == "dispatched" and first.main_unit == HANDLER_UNIT and first.handle_due_at
    assert first.number != last.number
    with make_session() as s:
        order = service.get_order(s, SYSTEM, first.number)
        timeline = service.to_out(s, SYSTEM, service.get_order_row(s, SYSTEM, order.number), timeline=True).timeline
        assert [e.action for e in timeline] == ["intake", "triage", "dispatch"]
        entries = audit.list_entries(s, as_user("auditor"), action="events.intake", size=50).items
        assert sorted(e.object_id for e in entries) == sorted([first.number, last.number])
        assert audit.verify(s).ok
    # a retry after the batch finds the order registered, as for a single intake
    with session_scope() as s:
        again = service.intake_many(s, [(ev.operator, _item(external_id="sys-1"))])
    assert again[0].number == first.number


def test_single_intake_still_raises_its_error(ev):
    from citybase.db import session_scope

    with session_scope() as s, pytest.raises(BadInput) as err:
        service.intake(s, ev.operator, _item(point=(121.9, 35.0)))
    assert err.value.code == "outside_city"


def test_concurrent_requests_share_transactions(ev, monkeypatch):
    batcher = batching.IntakeBatcher(writers=1)
    real = service.intake_many
    release = threading.Event()
    sizes: list[int] = []

    def slow_first(session, items, **kw):  # the first batch waits until the others have queued
        sizes.append(len(items))
        if len(sizes) == 1:
            release.wait(10)
        return real(session, items, **kw)

    monkeypatch.setattr(service, "intake_many", slow_first)
    results: list[object] = [None] * 12

    def worker(i: int) -> None:
        try:
            results[i] = batcher.submit(ev.operator, _item(description=f"垃圾堆放 {i}", external_id=f"c-{i}"))
        except CitybaseError as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    threads[0].start()
    while not sizes:
        threading.Event().wait(0.01)
    for t in threads[1:]:
        t.start()
    while len(batcher._pending) < 11:
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(30)
    numbers = {r.number for r in results}  # type: ignore[union-attr]
    assert len(numbers) == 12
    assert sizes == [1, 11] and batcher.batches == 2
    assert all(fetch(n).status == "dispatched" for n in numbers)


def test_a_failed_batch_is_retried_one_by_one(ev, monkeypatch):
    batcher = batching.IntakeBatcher()
    real = service.intake_many

    def broken_for_batches(session, items, **kw):
        if len(items) > 1:
            raise RuntimeError("lost connection mid-batch")
        return real(session, items, **kw)

    monkeypatch.setattr(service, "intake_many", broken_for_batches)
    items = [batching._Item(ev.operator, _item(external_id="r-1")),
             batching._Item(ev.operator, _item(point=(121.9, 35.0)))]
    batcher._pending, batcher._busy = list(items), 1
    batcher._write_next()
    assert items[0].result is not None and items[0].result.external_id == "r-1"
    assert fetch(items[0].result.number).status == "dispatched"
    assert isinstance(items[1].error, BadInput) and items[1].error.code == "outside_city"
    assert batcher._busy == 0 and all(it.done and it.ready.is_set() for it in items)


def test_two_writers_under_load_lose_nothing_and_release_their_slots(ev):
    batcher = batching.IntakeBatcher(max_batch=4, writers=2)
    results: list[object] = [None] * 40

    def worker(i: int) -> None:
        results[i] = batcher.submit(ev.operator, _item(description=f"垃圾堆放 {i}", external_id=f"w-{i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert len({r.number for r in results}) == 40  # type: ignore[union-attr]
    assert batcher.items == 40 and batcher._busy == 0 and batcher._pending == []
