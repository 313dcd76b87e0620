"""Benchmark: latencies the unit tests used to assert (moved here so tests cannot flake).

- building the demo account (target well under 0.5 s);
- the webhook route's 200 while a slow reaction runs (target under 1 s);
- from the 200 to "processed" when the receiver wakes an idle worker (target under 1 s).

    python bench/bench_latency.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.applications import Starlette
from starlette.testclient import TestClient

from lib.demo import build_demo_account
from lib.store import create_db_engine, migrate
from lib.webhooks import WEBHOOK_PATH, WebhookWorker, list_server_events, stripe_webhook_route
from tests.test_webhook_receiver import SECRET, signed, stripe_event

ANCHOR = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def demo_build_seconds(runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        build_demo_account(ANCHOR)
        best = min(best, time.perf_counter() - started)
    return best


def _processed(engine: object, event_id: str) -> bool:
    return any(
        e.stripe_event_id == event_id and e.status == "processed"
        for e in list_server_events(engine)  # type: ignore[arg-type]
    )


def webhook_seconds(folder: Path) -> tuple[float, float]:
    """(seconds to the 200 while a reaction blocks, seconds from a 200 to processed)."""
    engine = create_db_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    release = threading.Event()
    worker = WebhookWorker(
        lambda: engine,
        reactions=[("stripe.payment.received", lambda _e, _v: release.wait(10))],
        idle_seconds=60,
    )
    worker.start()
    route = stripe_webhook_route(
        engine=lambda: engine, secrets=lambda: [SECRET], on_stored=worker.wake
    )
    try:
        with TestClient(Starlette(routes=[route])) as client:
            body = stripe_event("evt_slow")
            began = time.perf_counter()
            client.post(WEBHOOK_PATH, content=body, headers=signed(body))
            answered = time.perf_counter() - began
            release.set()
            while not _processed(engine, "evt_slow"):
                time.sleep(0.005)
            body = stripe_event("evt_fast", "customer.created")
            began = time.perf_counter()
            client.post(WEBHOOK_PATH, content=body, headers=signed(body))
            while not _processed(engine, "evt_fast"):
                time.sleep(0.002)
            processed = time.perf_counter() - began
    finally:
        worker.stop()
        engine.dispose()
    return answered, processed


def main() -> None:
    print(f"demo account build (best of 3): {demo_build_seconds() * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as folder:
        answered, processed = webhook_seconds(Path(folder))
    print(f"webhook 200 while a reaction blocks: {answered * 1000:.0f} ms")
    print(f"webhook 200 -> processed (worker woken): {processed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
