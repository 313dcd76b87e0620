"""Group commit for webhook deliveries: many async callers, one writer thread, few transactions.

The receiver awaits `EventWriter.store` for each verified delivery and answers Stripe once the
event is committed.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from lib.webhooks.events_store import NewEvent, store_events


class EventWriter:
    """Stores events for async callers in shared transactions ("group commit") on one thread.

    A caller awaits `store(event)` until its event is committed. The writer thread takes every
    event queued so far and commits them in one transaction, so a burst of deliveries costs a
    few commits and one thread hop each instead of one per event; on SQLite it also spares
    concurrent writers the busy handler's sleep-and-retry. The thread ends when idle and
    starts again with the next event.
    """

    def __init__(
        self, engine: Callable[[], Engine], *, max_batch: int = 200, idle_seconds: float = 5.0
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_QueuedEvent] = queue.SimpleQueue()
        self._thread_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def store(self, event: NewEvent) -> bool:
        """True once this call stored `event`, False when its id was already stored.

        Raises the storage error when the transaction holding it failed.
        """
        loop = asyncio.get_running_loop()
        queued = _QueuedEvent(event, loop, loop.create_future())
        self._queue.put(queued)
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write, name="webhook-event-writer", daemon=True
                )
                self._thread.start()
        return await queued.future

    def _write(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self._idle_seconds)]
            except queue.Empty:
                with self._thread_lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._commit(batch)

    def _commit(self, batch: list[_QueuedEvent]) -> None:
        try:
            outcomes: list[bool | Exception] = list(
                store_events(self._engine(), [queued.event for queued in batch])
            )
        except Exception as exc:
            outcomes = [exc] * len(batch)
        for loop, settled in _by_loop(batch, outcomes).items():
            loop.call_soon_threadsafe(_settle, settled)


@dataclass(frozen=True)
class _QueuedEvent:
    event: NewEvent
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


def _by_loop(
    batch: list[_QueuedEvent], outcomes: list[bool | Exception]
) -> dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool | Exception]]]:
    grouped: dict[
        asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool | Exception]]
    ] = {}
    for queued, outcome in zip(batch, outcomes, strict=True):
        grouped.setdefault(queued.loop, []).append((queued.future, outcome))
    return grouped


def _settle(settled: list[tuple[asyncio.Future[bool], bool | Exception]]) -> None:
    for future, outcome in settled:
        if future.cancelled():
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
