"""Group commit of intake: several problems in one transaction, each with its own result, its own
timeline and its own ledger entry; one bad request never takes the others down."""

from __future__ import annotations

import asyncio
import threading

import pytest

from citybase.config import get_settings
from citybase.core.errors import BadInput
from citybase.events import batching, service
from citybase.events.schemas import IntakeIn
from tests.events.conftest import HANDLER_UNIT, as_user, fetch, point_in


def _item(description: str = "东亭路口有一堆暴露垃圾", **kw) -> IntakeIn:
    lon, lat = kw.pop("point", None) or point_in()
    return IntakeIn(channel=kw.pop("channel", "api"), description=description, lon=lon, lat=lat,
                    type_code=kw.pop("type_code", "TGARB"), **kw)


def _run(main):  # noqa: ANN001, ANN202 - a test helper
    """asyncio.run(main()) in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread of the test process."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join(120)
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out.get("value")


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

    async def main() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(ev.operator, _item(description="垃圾堆放 0", external_id="c-0")))
        while not sizes:
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(batcher.submit(ev.operator, _item(description=f"垃圾堆放 {i}",
                                                                         external_id=f"c-{i}")))
                for i in range(1, 12)]
        await asyncio.sleep(0.05)
        assert len(batcher._pending) == 11 and batcher._busy == 1  # queued behind the one writer
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = _run(main)
    numbers = {r.number for r in results}  # type: ignore[union-attr]
    assert len(numbers) == 12
    assert sizes == [1, 11] and batcher.batches == 2 and batcher._busy == 0
    assert all(fetch(n).status == "dispatched" for n in numbers)


def test_a_failed_batch_is_retried_one_by_one(ev, monkeypatch):
    real = service.intake_many

    def broken_for_batches(session, items, **kw):
        if len(items) > 1:
            raise RuntimeError("lost connection mid-batch")
        return real(session, items, **kw)

    monkeypatch.setattr(service, "intake_many", broken_for_batches)

    async def main() -> list[object]:
        batcher = batching.IntakeBatcher(writers=1)
        return await asyncio.gather(batcher.submit(ev.operator, _item(external_id="r-1")),
                                    batcher.submit(ev.operator, _item(point=(121.9, 35.0))),
                                    return_exceptions=True)

    ok, refused = _run(main)
    assert ok.external_id == "r-1" and fetch(ok.number).status == "dispatched"  # type: ignore[union-attr]
    assert isinstance(refused, BadInput) and refused.code == "outside_city"


def test_two_writers_under_load_lose_nothing_and_release_their_slots(ev):
    batcher = batching.IntakeBatcher(max_batch=4, writers=2)

    async def main() -> list[object]:
        return await asyncio.gather(*(batcher.submit(ev.operator, _item(description=f"垃圾堆放 {i}",
                                                                        external_id=f"w-{i}"))
                                      for i in range(40)))

    results = _run(main)
    assert len({r.number for r in results}) == 40  # type: ignore[union-attr]
    assert batcher.items == 40 and batcher.batches >= 10 and batcher._busy == 0 and batcher._pending == []


def test_a_client_that_goes_away_still_has_its_problem_registered(ev, monkeypatch):
    real = service.intake_many
    started, release = threading.Event(), threading.Event()

    def slow(session, items, **kw):
        started.set()
        release.wait(10)
        return real(session, items, **kw)

    monkeypatch.setattr(service, "intake_many", slow)
    batcher = batching.IntakeBatcher()

    async def main() -> None:
        request = asyncio.ensure_future(batcher.submit(ev.operator, _item(external_id="gone-1")))
        while not started.is_set():
            await asyncio.sleep(0.01)
        request.cancel()  # the connection dropped while the batch was being written
        release.set()
        while batcher._busy:
            await asyncio.sleep(0.01)

    _run(main)
    from sqlalchemy import select

    from citybase.db import make_session
    from citybase.events.models import WorkOrder

    with make_session() as s:
        stored = s.execute(select(WorkOrder).where(WorkOrder.external_id == "gone-1")).scalars().all()
    assert len(stored) == 1 and fetch(stored[0].number).status == "dispatched"


def test_the_api_reads_reference_data_at_most_seconds_old_and_its_own_changes_at_once(ev, monkeypatch):
    """Batches of the intake API reuse problem types, the dispatch catalogue and the calendar for
    REFERENCE_SECONDS; a change made through this process applies to the very next batch."""
    from sqlalchemy import update

    from citybase.core.identity.principal import SYSTEM
    from citybase.db import session_scope
    from citybase.events.models import ProblemType
    from citybase.events.schemas import ProblemTypeIn

    monkeypatch.setattr(get_settings(), "intake_reference_seconds", 60)

    def via_api(n: int) -> dict:
        async def main() -> object:
            return await batching.IntakeBatcher().submit(ev.operator, _item(external_id=f"ref-{n}"))
        return _run(main).sla  # type: ignore[union-attr]

    assert via_api(1)["handle"] != 77
    with session_scope() as s:  # through the service, in this process: applies at once
        t = service.get_problem_type(s, "TGARB")
        service.save_problem_type(s, SYSTEM, ProblemTypeIn(code="TGARB", name=t.name, kind=t.kind, sign_in=1,
                                                           handle=77))
    assert via_api(2)["handle"] == 77
    with session_scope() as s:  # as another worker process would: seen within REFERENCE_SECONDS
        s.execute(update(ProblemType).where(ProblemType.code == "TGARB").values(handle=55))
    assert via_api(3)["handle"] == 77
    monkeypatch.setattr(get_settings(), "intake_reference_seconds", 0)  # as if those seconds had passed
    assert via_api(4)["handle"] == 55
    with session_scope() as s:  # service.intake (forms, Open311, tests) always reads afresh
        assert service.intake(s, ev.operator, _item(external_id="ref-5")).sla["handle"] == 55
