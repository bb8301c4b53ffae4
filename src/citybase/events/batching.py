"""Group commit for the intake API: concurrent requests share one transaction.

Each intake costs a transaction, a ledger lock and a commit; under load most of a request's time
went there. Requests therefore wait on the event loop for their own result while a writer task
takes every request queued at that moment, registers them with :func:`service.intake_many` in one
transaction in the thread pool, commits, and hands each request its own result. Requests arriving
meanwhile queue up and form the next batch. A writer task exists only while requests are queued
(no background thread, no timer: under light load a batch is one request and adds no latency).

Waiting on the loop instead of in a pool thread means a request costs no thread hand-over of its
own: only each batch crosses into the thread pool.

A response is only given after the commit, so every 2xx is durable. If the shared transaction
fails as a whole, each request of the batch is retried alone, so one bad request cannot take the
others down with it. A client that disconnects while waiting does not cancel its registration."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from citybase.config import get_settings
from citybase.core.identity.principal import Principal
from citybase.db import session_scope
from citybase.events import service
from citybase.events.schemas import IntakeIn, OrderOut

log = logging.getLogger(__name__)
MAX_BATCH = 64
# batches written at once per process (CITYBASE_INTAKE_WRITERS): one. With two, batches were half as big and contended for
# the ledger's lock and the interpreter: 373–494/s against 692/s with one, on the intake benchmark.


@dataclass
class _Item:
    principal: Principal
    data: IntakeIn
    future: asyncio.Future[OrderOut]


Outcome = OrderOut | BaseException


class IntakeBatcher:
    """The batcher of one event loop (a web worker has one)."""

    def __init__(self, max_batch: int = MAX_BATCH, writers: int | None = None) -> None:
        self.max_batch = max_batch
        self.writers = max(1, get_settings().intake_writers if writers is None else writers)
        self._pending: list[_Item] = []
        self._busy = 0  # writer tasks running
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # counters for the benchmark and tests
        self.items = 0

    async def submit(self, principal: Principal, data: IntakeIn) -> OrderOut:
        loop = asyncio.get_running_loop()
        item = _Item(principal, data, loop.create_future())
        self._pending.append(item)
        if self._busy < self.writers:
            self._busy += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # shielded: a client that goes away stops waiting, its registration still completes
        return await asyncio.shield(item.future)

    async def _drain(self) -> None:
        try:
            while self._pending:  # nothing awaits between this test and ``finally``: no request is stranded
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                self.batches += 1
                self.items += len(batch)
                try:
                    outcomes = await run_in_threadpool(self.write, batch)
                except BaseException as exc:  # noqa: BLE001 - every waiting request learns of it
                    outcomes = [exc] * len(batch)
                for it, out in zip(batch, outcomes, strict=True):
                    if it.future.done():
                        continue
                    if isinstance(out, BaseException):
                        it.future.set_exception(out)
                    else:
                        it.future.set_result(out)
        finally:
            self._busy -= 1

    def write(self, batch: list[_Item]) -> list[Outcome]:
        """Register a batch in one transaction (in a pool thread); each request's result or error."""
        try:
            with session_scope() as s:
                outs = service.intake_many(s, [(it.principal, it.data) for it in batch], recent_reference=True)
        except Exception:  # noqa: BLE001 - the shared transaction failed: each request on its own
            if len(batch) > 1:
                log.warning("intake batch of %d failed; retrying each alone", len(batch), exc_info=True)
            return [self._alone(it) for it in batch]
        return list(outs)

    @staticmethod
    def _alone(it: _Item) -> Outcome:
        try:
            with session_scope() as s:
                return service.intake(s, it.principal, it.data)
        except BaseException as exc:  # noqa: BLE001 - handed to the request that sent it
            return exc


_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IntakeBatcher] = weakref.WeakKeyDictionary()


async def submit(principal: Principal, data: IntakeIn) -> OrderOut:
    """Register one problem through the group-commit batcher of the running event loop."""
    loop = asyncio.get_running_loop()
    batcher = _BATCHERS.get(loop)
    if batcher is None:
        batcher = _BATCHERS[loop] = IntakeBatcher()
    return await batcher.submit(principal, data)

