"""Widget views shared by every session of the process: a view depends only on the widget, its
data, the interactions, the timezone and the moment, so sessions that agree on all of them draw
one view built once (no Streamlit: the dashboard keeps one `ViewCache` per process).

Each key is built by one caller at a time (others wait for its result instead of building the
same view again), and the least recently used views are dropped past `max_entries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ViewCache(Generic[V]):
    """A bounded, thread-safe memo whose values are built once per key."""

    def __init__(self, max_entries: int = 256) -> None:
        self._max_entries = max_entries
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value kept for `key`, else `build()`'s, kept for the next caller. While one
        caller builds a key, the others asking for it wait and get its value; when the build
        raises, each of them builds in turn."""
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
                building = self._building.get(key)
                if building is None:
                    building = self._building[key] = threading.Lock()
                    building.acquire()
                    break
            with building:  # another caller builds this key: wait for it, then look again
                pass
        try:
            value = build()
            with self._lock:
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self._max_entries:
                    self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._building[key]
            building.release()

    def clear(self) -> None:
        """Forget every kept value (builds under way still finish and are kept)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
