"""What every writer of the webhook tables shares: the provider key and the write turns."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

PROVIDER = "stripe"
# Background writers that may go while deliveries wait, after this many delivery transactions.
URGENT_TURNS_IN_A_ROW = 4


class WriteTurns:
    """One writer at a time in this process, deliveries first.

    SQLite admits one writer at a time and makes the others poll with growing sleeps; this
    process's writers of these tables (receiver, worker, poller, workflow runner) queue here
    instead. A plain lock is unfair: the worker, committing one workflow run after another,
    takes it back before the receiver's waiting thread wakes, and deliveries waited through
    many of its commits. Here an urgent writer (a transaction a delivery's 200 waits on) goes
    before waiting background writers, which still get one turn after every
    `URGENT_TURNS_IN_A_ROW` urgent ones, so a flood of deliveries cannot stop processing.
    """

    def __init__(self, urgent_turns_in_a_row: int = URGENT_TURNS_IN_A_ROW) -> None:
        self._changed = threading.Condition()
        self._held = False
        self._urgent_waiting = 0
        self._background_waiting = 0
        self._urgent_in_a_row = 0
        self._urgent_turns_in_a_row = urgent_turns_in_a_row

    @property
    def waiting(self) -> tuple[int, int]:
        """(urgent, background) writers waiting for their turn now."""
        with self._changed:
            return self._urgent_waiting, self._background_waiting

    @contextmanager
    def turn(self, *, urgent: bool) -> Iterator[None]:
        """Hold the turn for the block, once it is this writer's."""
        with self._changed:
            self._wait_for_turn(urgent)
            self._held = True
            self._urgent_in_a_row = self._urgent_in_a_row + 1 if urgent else 0
        try:
            yield
        finally:
            with self._changed:
                self._held = False
                self._changed.notify_all()

    def _wait_for_turn(self, urgent: bool) -> None:
        if urgent:
            self._urgent_waiting += 1
        else:
            self._background_waiting += 1
        try:
            while self._held or not self._is_turn_of(urgent):
                self._changed.wait()
        finally:
            if urgent:
                self._urgent_waiting -= 1
            else:
                self._background_waiting -= 1

    def _is_turn_of(self, urgent: bool) -> bool:
        background_due = self._urgent_in_a_row >= self._urgent_turns_in_a_row
        if urgent:
            return not (background_due and self._background_waiting)
        return background_due or not self._urgent_waiting


_WRITE_TURNS = WriteTurns()


@contextmanager
def writing(engine: Engine, *, urgent: bool = False) -> Iterator[Connection]:
    """A transaction on `engine`, taken after this process's other writers have finished.

    `urgent` for a transaction a delivery's answer waits on: it goes before background ones.
    """
    with _WRITE_TURNS.turn(urgent=urgent), engine.begin() as connection:
        yield connection
