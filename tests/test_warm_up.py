"""The start-up warm-up: it runs beside the server without holding up its start, and a failure
in it is logged, never raised (the first page then does the same work and shows the problem)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import lib.render.warm_up as warm_up_module
from lib.render.warm_up import warm_up, with_warm_up


def test_the_app_starts_serving_while_the_warm_up_still_runs() -> None:
    events: list[str] = []
    release, finished = threading.Event(), threading.Event()

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        events.append("started")
        yield None
        events.append("stopped")

    def slow_work() -> None:
        events.append("warm-up")
        release.wait(5)
        finished.set()

    async def serve() -> None:
        async with with_warm_up(lifespan, slow_work)(object()):
            events.append("serving after the warm-up" if finished.is_set() else "serving")

    asyncio.run(serve())
    release.set()

    assert finished.wait(5)
    assert events[0] == "started" and "serving" in events and "stopped" in events
    assert events.index("serving") < events.index("stopped")


def test_a_failing_warm_up_is_logged_and_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(warm_up_module, "PAGE_MODULES", ("lib.render.no_such_page",))

    with caplog.at_level(logging.WARNING, logger=warm_up_module.__name__):
        warm_up()

    assert "warm-up stopped: ModuleNotFoundError" in caplog.text
