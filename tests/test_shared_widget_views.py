"""Widget views shared between sessions: built once for every session showing the same fetched
data, and never carrying one session's interactions into another's."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import lib.render.widgets.dashboard as dashboard
from lib.config import PROJECT_ROOT
from lib.widgets.view_cache import ViewCache
from tests.apptest_support import run_app, shown_text
from tests.test_event_mesh_app import CUSTOMER_EMPTY_STATE, demo_get, recent_payments, view_payment


class FixedTime:
    """Stands in for the `time` module of the dashboard: the clock stays at `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each widget view built from here on; the dashboard's clock stands still."""
    built: list[str] = []
    build = dashboard.build_widget_view

    def counted(definition: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(definition.name)
        return build(definition, *args, **kwargs)

    monkeypatch.setattr(dashboard, "build_widget_view", counted)
    monkeypatch.setattr(dashboard, "time", FixedTime(time.time()))
    return built


def second_session() -> AppTest:
    """Another browser session of the same app process (the data cache is kept)."""
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def test_a_second_session_draws_the_views_the_first_one_built(builds: list[str]) -> None:
    run_app()
    first = list(builds)
    builds.clear()

    second_session()

    assert "Recent Payments" in first and "Failed Payments" in first
    # Only views not made from fetched data (server events, waiting for a selection) are built.
    assert "Recent Payments" not in builds and "Failed Payments" not in builds


def test_one_sessions_selection_stays_out_of_another_sessions_widgets(builds: list[str]) -> None:
    viewer = run_app()
    other = second_session()
    payment = recent_payments()[2]
    customer = demo_get(f"/customers/{payment['customer']}")

    view_payment(viewer, 2)
    other.run()

    assert f"**Name**: {customer['name']}" in shown_text(viewer)
    assert [text for text in shown_text(viewer) if "Selected]" in text]
    texts = shown_text(other)
    assert CUSTOMER_EMPTY_STATE in texts
    assert f"**Name**: {customer['name']}" not in texts
    assert not [text for text in texts if "Selected]" in text]
    assert not [button for button in other.button if button.key == "widget-customer-chip-0"]


def test_concurrent_callers_of_one_key_get_the_value_built_once() -> None:
    cache: ViewCache[object] = ViewCache()
    started, release = threading.Event(), threading.Event()
    built: list[object] = []

    def build() -> object:
        started.set()
        release.wait(5)
        built.append(object())
        return built[-1]

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", build)))]
    threads[0].start()
    started.wait(5)
    threads += [
        threading.Thread(target=lambda: results.append(cache.get("k", build))) for _ in range(5)
    ]
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)

    assert len(built) == 1
    assert len(results) == 6 and all(result is built[0] for result in results)


def test_a_failed_build_is_not_kept_and_the_next_caller_builds_again() -> None:
    cache: ViewCache[str] = ViewCache()

    def broken() -> str:
        raise ValueError("transform failed")

    with pytest.raises(ValueError):
        cache.get("k", broken)

    assert cache.get("k", lambda: "view") == "view"


def test_the_least_recently_used_views_are_dropped_past_the_bound() -> None:
    cache: ViewCache[str] = ViewCache(max_entries=2)
    cache.get("a", lambda: "A")
    cache.get("b", lambda: "B")
    cache.get("a", lambda: "rebuilt")  # "a" is used again, so "b" is the oldest
    cache.get("c", lambda: "C")

    assert len(cache) == 2
    assert cache.get("a", lambda: "rebuilt") == "A"
    assert cache.get("b", lambda: "rebuilt") == "rebuilt"
