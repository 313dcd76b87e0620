"""Stand-ins for time: a clock the test moves by hand, and a sleep that only records."""

from __future__ import annotations


class Clock:
    """A clock the test moves by hand: calling it returns `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Stands in for time.sleep: remembers every wait asked for, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
