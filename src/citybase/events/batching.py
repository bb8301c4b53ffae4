"""Group commit for the intake API: concurrent requests share one transaction.

Each intake costs a transaction, a ledger lock and a commit; under load most of a request's time
went there. Here the first request to arrive while no batch is being written becomes the leader: it
takes every request waiting at that moment (its own included), registers them with
:func:`service.intake_many` in one transaction, commits, and wakes their threads with their own
results. Requests arriving meanwhile queue up; when the leader is done it promotes the oldest of
them, which writes the next batch. No background thread, no timer: under light load a batch is one
request and adds no latency.

A response is only given after the commit, so every 2xx is durable. If the shared transaction
fails as a whole, each request of the batch is retried alone, so one bad request cannot take the
others down with it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from citybase.core.errors import CitybaseError
from citybase.core.identity.principal import Principal
from citybase.db import session_scope
from citybase.events import service
from citybase.events.schemas import IntakeIn, OrderOut

log = logging.getLogger(__name__)
MAX_BATCH = 64


@dataclass
class _Item:
    principal: Principal
    data: IntakeIn
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: OrderOut | None = None
    error: BaseException | None = None


class IntakeBatcher:
    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._busy = False
        self.batches = 0  # counters for the benchmark and tests
        self.items = 0

    def submit(self, principal: Principal, data: IntakeIn) -> OrderOut:
        item = _Item(principal, data)
        with self._lock:
            self._pending.append(item)
            if not self._busy:
                self._busy = item.lead = True
        while True:
            if item.lead:
                item.lead = False
                self._write_next()
            item.ready.wait()
            if item.lead and item.result is None and item.error is None:  # promoted to write a batch
                item.ready.clear()
                continue
            break
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _write_next(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._pending:
                    nxt = self._pending[0]
                    nxt.lead = True
                    nxt.ready.set()
                else:
                    self._busy = False
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
