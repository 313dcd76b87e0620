"""Two app processes on one PostgreSQL schema: is each background job single across them?

Starts two `streamlit run app.py` processes on a fresh schema with one webhook secret and the
Events API poller on (every `--interval` seconds) against a loopback Stripe stand-in, then:

- delivers N signed events to BOTH processes (2N deliveries, 16 at a time) and reports how
  many were stored, how many were processed more than once (a claim taken by both workers,
  seen as `attempts > 1`), and the seconds from the first delivery to the last processed;
- counts the Events API polls (first pages) the two processes made together over `--window`
  seconds: the target is one per interval in all, so the smallest gap stays near the interval.

    python bench/bench_processes.py -n 500
    python bench/bench_processes.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import WEBHOOK_PATH
from tests.app_process import AppProcess
from tests.loopback_server import RecordedRequest, Reply
from tests.postgres_apps import fresh_schema, polling_app_env
from tests.stripe_stand_in import StripeStandIn
from tests.test_webhook_receiver import signed, stripe_event

STRIPE_KEY = "sk_test_51BenchTwoProcesses0000000001"
ACCOUNT = {"id": "acct_1BenchTwo", "object": "account", "business_profile": {"name": "Bench"}}


class TimedStripe(StripeStandIn):
    """The stand-in, noting when each Events API poll began (its first page)."""

    def __init__(self) -> None:
        super().__init__({STRIPE_KEY}, ACCOUNT)
        self.poll_starts: list[float] = []
        self.on("/v1/events", self._timed)

    def _timed(self, request: RecordedRequest) -> Reply:
        if request.param("starting_after") is None:
            self.poll_starts.append(time.monotonic())
        return self._answer_as_stripe(request)


def deliver_to_both(apps: list[AppProcess], count: int) -> list[int]:
    bodies = [stripe_event(f"evt_bench_both_{number:05d}") for number in range(count)]

    def deliver(pair: tuple[AppProcess, str]) -> int:
        app, body = pair
        url = app.url + WEBHOOK_PATH
        return httpx.post(url, content=body, headers=signed(body), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(deliver, [(app, body) for body in bodies for app in apps]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="events, each delivered to both")
    parser.add_argument("--interval", type=float, default=2.0, help="poll interval, seconds")
    parser.add_argument("--window", type=float, default=20.0, help="poll count window, seconds")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with fresh_schema(args.postgres, "bench") as database_url:
        run(args, database_url)


def run(args: argparse.Namespace, database_url: str) -> None:
    """Deliver, wait and report on a fresh schema."""
    stripe = TimedStripe()
    env = polling_app_env(database_url, STRIPE_KEY, stripe.api_base, args.interval)
    apps: list[AppProcess] = []
    engine = create_db_engine(database_url)
    try:
        with tempfile.TemporaryDirectory() as data:
            for number in (1, 2):
                folder = Path(data) / f"app-{number}"
                folder.mkdir()
                apps.append(AppProcess({**env, "APP_DATA_DIR": str(folder)}, folder))
            polls_from = len(stripe.poll_starts)
            window_start = time.monotonic()

            started = time.perf_counter()
            statuses = Counter(deliver_to_both(apps, args.n))
            both = webhook_events.c.event_id.like("evt_bench_both_%")
            pending = sa.select(sa.func.count()).where(both, webhook_events.c.status == "pending")
            while True:
                with engine.connect() as connection:
                    if not connection.execute(pending).scalar_one():
                        break
                time.sleep(0.05)
            processed_in = time.perf_counter() - started
            with engine.connect() as connection:
                attempts = Counter(
                    connection.execute(sa.select(webhook_events.c.attempts).where(both)).scalars()
                )
            time.sleep(max(0.0, args.window - (time.monotonic() - window_start)))
            starts = stripe.poll_starts[polls_from:]
            window = time.monotonic() - window_start
    finally:
        for app in apps:
            app.stop()
        stripe.close()
        engine.dispose()

    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    stored = sum(attempts.values())
    twice = sum(times for tries, times in attempts.items() if tries > 1)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"webhooks: {args.n} events x 2 processes, answers {dict(statuses)}")
    print(f"  stored {stored}, processed more than once {twice}, attempts {dict(attempts)}")
    print(f"  all processed {processed_in:.2f} s after the first delivery")
    print(
        f"events poll: {len(starts)} polls in {window:.1f} s by both processes "
        f"(interval {args.interval:g} s: one per interval in all = {window / args.interval:.1f})"
    )
    if gaps:
        print(f"  gap between polls: min {min(gaps):.2f} s, max {max(gaps):.2f} s")


if __name__ == "__main__":
    main()
