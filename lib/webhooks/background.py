"""`BackgroundLoop`: a daemon thread that repeats a pass until it is stopped; `PeriodicLoop`:
one that runs its pass at start and then at a fixed interval."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod


class BackgroundLoop(ABC):
    """Runs `_run` on a daemon thread named `thread_name`; `_run` loops until `_stopping` is set.

    At most one thread runs at a time: `start` on a running loop does nothing. A loop that
    also sleeps on another event passes it as `wakeup`, so that `stop` interrupts that sleep.
    """

    def __init__(self, thread_name: str, *, wakeup: threading.Event | None = None) -> None:
        self._thread_name = thread_name
        self._wakeup_on_stop = wakeup
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread unless it is running."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the pass in progress, if any, waiting up to `timeout` seconds for it."""
        self._stopping.set()
        if self._wakeup_on_stop is not None:
            self._wakeup_on_stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @abstractmethod
    def _run(self) -> None:
        """The thread's body: passes until `_stopping` is set."""


class PeriodicLoop(BackgroundLoop):
    """Runs `_pass` at start and then every `interval_seconds` until stopped.

    A pass that raises is logged to `log` as "<pass_name> failed: <exception type>" (never its
    message, which can hold data) and the next pass runs on time.
    """

    def __init__(
        self, thread_name: str, interval_seconds: float, *, pass_name: str, log: logging.Logger
    ) -> None:
        super().__init__(thread_name)
        self._interval_seconds = interval_seconds
        self._pass_name = pass_name
        self._log = log

    @abstractmethod
    def _pass(self) -> None:
        """One pass; what it found worth saying it logs itself."""

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._pass()
            except Exception as exc:  # storage or network down: the next pass tries again
                self._log.warning("%s failed: %s", self._pass_name, type(exc).__name__)
            self._stopping.wait(self._interval_seconds)
