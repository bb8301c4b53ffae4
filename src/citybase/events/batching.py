"""Group commit for the intake API: concurrent requests share one transaction.

Each intake costs a transaction, a ledger lock and a commit; under load most of a request's time
went there. Here the first request to arrive while no batch is being written becomes the leader: it
takes every request waiting at that moment (its own included), registers them with
:func:`service.intake_many` in one transaction, commits, and wakes their threads with their own
results. Requests arriving meanwhile queue up; when the leader is done it promotes the oldest of
them, which writes the next batch. Up to ``WRITERS`` batches are written at once, so one can wait on
the database while another is being built. No background thread, no timer: under light load a
batch is one request and adds no latency.

A response is only given after the commit, so every 2xx is durable. If the shared transaction
fails as a whole, each request of the batch is retried alone, so one bad request cannot take the
others down with it."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from citybase.core.errors import CitybaseError
from citybase.core.identity.principal import Principal
from citybase.db import session_scope
from citybase.events import service
from citybase.events.schemas import IntakeIn, OrderOut

log = logging.getLogger(__name__)
MAX_BATCH = 64
WRITERS = int(os.environ.get("CITYBASE_INTAKE_WRITERS", "2"))  # batches written at once per process


@dataclass
class _Item:
    principal: Principal
    data: IntakeIn
    ready: threading.Event = field(default_factory=threading.Event)
    leading: bool = False  # holds a writer slot (set under the batcher's lock)
    done: bool = False  # its batch is written (result or error set)
    result: OrderOut | None = None
    error: BaseException | None = None


class IntakeBatcher:
    def __init__(self, max_batch: int = MAX_BATCH, writers: int = WRITERS) -> None:
        self.max_batch = max_batch
        self.writers = max(1, writers)
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._busy = 0  # writer slots held (a batch being written, or handed to a waiting request)
        self.batches = 0  # counters for the benchmark and tests
        self.items = 0

    def submit(self, principal: Principal, data: IntakeIn) -> OrderOut:
        item = _Item(principal, data)
        with self._lock:
            self._pending.append(item)
            if self._busy < self.writers:
                self._busy += 1
                item.leading = True
        while True:
            if item.leading:
                item.leading = False  # _write_next releases the slot or hands it on
                self._write_next()
            item.ready.wait()
            with self._lock:
                if item.done:
                    break
                item.ready.clear()  # woken to write the next batch (``leading`` was set)
        if item.error is not None:
            raise item.error
        if item.result is None:
            raise RuntimeError("intake batch ended without a result")
        return item.result

    def _write_next(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        try:
            if batch:
                self._write(batch)
        finally:
            with self._lock:
                for it in batch:
                    it.done = True
                nxt = next((it for it in self._pending if not it.leading), None)
                if nxt is not None:
                    nxt.leading = True
                    nxt.ready.set()
                else:
                    self._busy -= 1
            for it in batch:
                it.ready.set()

    def _write(self, batch: list[_Item]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            with session_scope() as s:
                outs = service.intake_many(s, [(it.principal, it.data) for it in batch])
        except Exception:  # noqa: BLE001 - the shared transaction failed: each request on its own
            if len(batch) == 1:
                self._alone(batch[0])
                return
            log.warning("intake batch of %d failed; retrying each alone", len(batch), exc_info=True)
            for it in batch:
                self._alone(it)
            return
        for it, out in zip(batch, outs, strict=True):
            if isinstance(out, CitybaseError):
                it.error = out
            else:
                it.result = out

    @staticmethod
    def _alone(it: _Item) -> None:
        try:
            with session_scope() as s:
                it.result = service.intake(s, it.principal, it.data)
        except BaseException as exc:  # noqa: BLE001 - handed to the request's own thread
            it.error = exc


_BATCHER = IntakeBatcher()


def submit(principal: Principal, data: IntakeIn) -> OrderOut:
    """Register one problem through the shared group-commit batcher of this process."""
    return _BATCHER.submit(principal, data)
