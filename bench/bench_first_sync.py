"""Benchmark: a first sync of 100,000 charges, page after page and in `created` windows at once.

A loopback server in its own process answers Stripe's list semantics (newest first, `limit`,
`starting_after`, `created[gt|gte|lt|lte]`, `has_more`) for 1,000 customers and the charges of
`bench_finance.make_charges` (about 1.5 KB of JSON each, denser towards today), waiting
`--latency` seconds (250 ms) before each page, as Stripe takes about that long for a page of
100. The sync runs twice into a fresh database: with concurrency 1 (one request after the
other: the request sequence of the sync before windows) and with `--concurrency` (the
`SYNC_CONCURRENCY` default unless given). For each it prints seconds, requests the server
answered, the most requests it saw at once, the CPU seconds the syncing process used (storing
pages is CPU-bound: on a busy machine it, not Stripe's latency, bounds the windowed run), and
whether the stored charge ids are exactly the server's (none missing, none stored or read
twice). Target: windowed at least 6x faster.

Run from the project root:

    python -m bench.bench_first_sync                      # 100,000 charges, SQLite (~5 min)
    python -m bench.bench_first_sync --charges 10000      # a quick run
    python -m bench.bench_first_sync --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.bench_finance import make_charges, make_customers
from lib.config import Settings
from lib.demo import DEMO_API_KEY
from lib.providers.stripe import StripeAdapter
from lib.providers.types import ProviderCredentials
from lib.store import create_db_engine, dispose_engines, migrate
from lib.store.tables import mirror_charges
from lib.sync import sync_mirror
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply

ACCOUNT = "bench"
RESOURCES = ("customers", "charges", "refunds", "subscriptions")
_RANGE_PARAMS = ("gt", "gte", "lt", "lte")


class StripeLists:
    """Stripe's list endpoints over fixed objects, answered from pre-encoded JSON by bisection."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        ordered = sorted(objects, key=lambda obj: (obj["created"], obj["id"]), reverse=True)
        self._negated = [-obj["created"] for obj in ordered]  # ascending
        self._encoded = [json.dumps(obj, separators=(",", ":")).encode() for obj in ordered]
        self._position = {obj["id"]: index for index, obj in enumerate(ordered)}

    def answer(self, request: RecordedRequest) -> Reply:
        query = dict(request.query)
        limit = int(query.get("limit", "10"))
        start, end = 0, len(self._negated)
        for name in _RANGE_PARAMS:
            value = query.get(f"created[{name}]")
            if value is None:
                continue
            bound = -int(value)
            if name == "lt":
                start = max(start, bisect.bisect_right(self._negated, bound))
            elif name == "lte":
                start = max(start, bisect.bisect_left(self._negated, bound))
            elif name == "gte":
                end = min(end, bisect.bisect_right(self._negated, bound))
            else:
                end = min(end, bisect.bisect_left(self._negated, bound))
        cursor = query.get("starting_after")
        if cursor is not None:
            if cursor not in self._position:
                error = {"type": "invalid_request_error", "param": "starting_after"}
                return Reply(status=400, json={"error": {**error, "message": "No such object"}})
            start = max(start, self._position[cursor] + 1)
        chosen = self._encoded[start : min(end, start + limit)]
        more = b"true" if start + limit < end else b"false"
        body = b'{"object":"list","data":[' + b",".join(chosen) + b'],"has_more":' + more + b"}"
        return Reply(body=body, headers={"Content-Type": "application/json"})


def serve(objects: dict[str, list[dict[str, Any]]], latency: float, ready: Any, stop: Any) -> None:
    """The server process: answer lists after `latency` seconds; `/bench/stats` tells the
    requests answered so far and the most answered at once."""
    lists = {f"/v1/{name}": StripeLists(items) for name, items in objects.items()}
    lock = threading.Lock()
    counts = {"requests": 0, "in_flight": 0, "peak": 0}

    def answer(request: RecordedRequest) -> Reply:
        with lock:
            counts["requests"] += 1
            counts["in_flight"] += 1
            counts["peak"] = max(counts["peak"], counts["in_flight"])
        try:
            time.sleep(latency)
            return lists[request.path].answer(request)
        finally:
            with lock:
                counts["in_flight"] -= 1

    def stats(request: RecordedRequest) -> Reply:
        with lock:
            snapshot = dict(counts)
            if request.param("reset"):
                counts.update(requests=0, peak=0)
        return Reply(json=snapshot)

    with LoopbackServer() as server:
        for path in lists:
            server.on(path, answer)
        server.on("/bench/stats", stats)
        ready.send(server.url)
        stop.wait()


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    cpu_seconds: float
    requests: int
    peak: int
    fetched: int
    stored: int
    missing: int
    unexpected: int


@contextmanager
def fresh_database(database_url: str | None, folder: Path, name: str) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a new PostgreSQL schema dropped after."""
    if database_url is None:
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_sync(label: str, url: str, server_url: str, concurrency: int, expected: set[str]) -> Run:
    engine = create_db_engine(url)
    migrate(engine)
    httpx.get(f"{server_url}/bench/stats", params={"reset": "1"})
    cpu_before = time.process_time()
    with StripeAdapter(base_url=server_url + "/v1") as adapter:
        report = sync_mirror(
            engine,
            ACCOUNT,
            adapter,
            ProviderCredentials(pat=DEMO_API_KEY),
            concurrency=concurrency,
        )
    cpu_seconds = time.process_time() - cpu_before
    stats = httpx.get(f"{server_url}/bench/stats").json()
    assert report.outcome == "complete", report
    with engine.connect() as connection:
        stored = list(connection.execute(sa.select(mirror_charges.c.id)).scalars())
    engine.dispose()
    return Run(
        label=label,
        seconds=report.elapsed,
        cpu_seconds=cpu_seconds,
        requests=stats["requests"],
        peak=stats["peak"],
        fetched=report.objects,
        stored=len(stored),
        missing=len(expected - set(stored)),
        unexpected=len(set(stored) - expected),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=100_000, help="charges on the server")
    parser.add_argument("--customers", type=int, default=1_000, help="customers on the server")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per page")
    default = Settings.model_fields["sync_concurrency"].default
    parser.add_argument(
        "--concurrency", type=int, default=default, help="requests in flight, windowed"
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--skip-sequential", action="store_true", help="windowed run only")
    args = parser.parse_args()

    rng = random.Random(7)
    now = int(time.time())
    customers = make_customers(rng, args.customers, now)
    charges = make_charges(rng, args.charges, customers, now, span_days=3 * 365)
    expected = {charge["id"] for charge in charges}
    objects = {"customers": customers, "charges": charges, "refunds": [], "subscriptions": []}
    context = multiprocessing.get_context("fork")
    ready, ready_child = context.Pipe()
    stop = context.Event()
    server = context.Process(target=serve, args=(objects, args.latency, ready_child, stop))
    server.start()
    server_url = ready.recv()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{database}; {args.charges:,} charges and {args.customers:,} customers over three "
        f"years, {args.latency * 1000:.0f} ms a page of 100, server in its own process"
    )
    plans = [("sequential (concurrency 1)", 1)]
    if args.skip_sequential:
        plans = []
    plans.append((f"windowed (concurrency {args.concurrency})", args.concurrency))
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for label, concurrency in plans:
                with fresh_database(args.database_url, Path(folder), str(concurrency)) as url:
                    runs.append(run_sync(label, url, server_url, concurrency, expected))
    finally:
        stop.set()
        server.join(timeout=10)
    print(
        f"{'run':28} {'seconds':>8} {'CPU s':>6} {'requests':>9} {'at once':>8} {'read':>8} "
        f"{'stored':>8} {'missing':>8} {'extra':>6}"
    )
    for run in runs:
        print(
            f"{run.label:28} {run.seconds:>8.1f} {run.cpu_seconds:>6.1f} {run.requests:>9,} "
            f"{run.peak:>8} {run.fetched:>8,} {run.stored:>8,} {run.missing:>8} "
            f"{run.unexpected:>6}"
        )
    objects_total = args.charges + args.customers
    for run in runs:
        exact = run.missing == run.unexpected == 0 and run.stored == args.charges
        once = run.fetched == objects_total
        print(
            f"{run.label}: stored ids {'equal' if exact else 'DIFFER from'} the server's; "
            f"{'every object read once' if once else f'{run.fetched:,} objects read'}"
        )
    if len(runs) == 2:
        print(f"windowed is {runs[0].seconds / runs[1].seconds:.1f}x faster than sequential")


if __name__ == "__main__":
    main()
