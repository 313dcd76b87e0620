"""Write turns for the webhook tables: a delivery's transaction goes before background writers
that wait, and a flood of deliveries still leaves background writers their turns."""

from __future__ import annotations

import threading
import time

from lib.webhooks.events_store.writing import WriteTurns


class Writers:
    """Writers on threads that record the order in which they got the turn."""

    def __init__(self, turns: WriteTurns) -> None:
        self.turns = turns
        self.order: list[str] = []
        self._threads: list[threading.Thread] = []

    def start(self, name: str, *, urgent: bool) -> None:
        """A writer that takes one turn, records `name` and gives the turn back."""

        def write() -> None:
            with self.turns.turn(urgent=urgent):
                self.order.append(name)

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait_until_waiting(self, urgent: int, background: int) -> None:
        deadline = time.monotonic() + 10
        while self.turns.waiting != (urgent, background):
            assert time.monotonic() < deadline, f"waiting {self.turns.waiting}"
            time.sleep(0.001)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(10)
            assert not thread.is_alive()


def test_a_delivery_goes_before_background_writers_that_waited_longer() -> None:
    writers = Writers(WriteTurns())
    with writers.turns.turn(urgent=False):  # the worker is committing
        writers.start("worker again", urgent=False)
        writers.wait_until_waiting(urgent=0, background=1)
        writers.start("delivery", urgent=True)
        writers.wait_until_waiting(urgent=1, background=1)

    writers.join()
    assert writers.order == ["delivery", "worker again"]


def test_background_writers_get_a_turn_after_every_few_deliveries() -> None:
    writers = Writers(WriteTurns(urgent_turns_in_a_row=2))
    with writers.turns.turn(urgent=True):  # a delivery's transaction
        writers.start("worker", urgent=False)
        writers.wait_until_waiting(urgent=0, background=1)
        for number in range(1, 4):
            writers.start(f"delivery {number}", urgent=True)
            writers.wait_until_waiting(urgent=number, background=1)

    writers.join()
    # One urgent turn was taken (the block), so the worker goes after one more.
    assert writers.order[1] == "worker"
    assert sorted(writers.order) == ["delivery 1", "delivery 2", "delivery 3", "worker"]


def test_alone_any_writer_goes_at_once() -> None:
    turns = WriteTurns()
    for urgent in (False, True, True, False):
        with turns.turn(urgent=urgent):
            assert turns.waiting == (0, 0)
