"""Benchmark: every page that can be opened with a query string, with a normal query and with
the hostile ones of issue 9 (huge numbers, unicode digits, 100,000-character values, markdown).

1. Reading the query: `from_query_params` (Charges) and `parse_callback` (Credentials) on each
   query, in microseconds: every value is bounded before anything converts it.
2. Whole pages: each runs in-process under Streamlit's AppTest (the whole script, as a browser
   visit does) over a mirror of --charges charges on SQLite. Normal and hostile queries are
   interleaved round by round and each figure is the fastest of --repeats runs after a warm-up
   (on a shared machine the fastest run is the one least disturbed by other work). The pages
   that do not read the query (Subscriptions, Dashboard, Webhooks) get the three largest ones.

Target: every hostile query within 100 ms of the same page's normal query.

Run from the project root: `python -m bench.bench_hostile_query` (`--help` for the sizes).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

NORMAL = "normal"
HOSTILE: dict[str, dict[str, str]] = {
    "min=1e999990 (usd)": {"currency": "usd", "min": "1e999990"},
    "min=1e999999999 (usd)": {"currency": "usd", "min": "1e999999999"},
    "min=99999999999999999999 (usd)": {"currency": "usd", "min": "99999999999999999999"},
    "page=²": {"page": "²"},
    "page=<5,000 digits>": {"page": "9" * 5_000},
    "range=custom&to=9999-12-31": {"range": "custom", "to": "9999-12-31"},
    "q=<100,000 x %>": {"q": "%" * 100_000},
    "status=bogus": {"status": "bogus"},
    "range=<markdown link>": {"range": "`[Sign in](https://evil.example/login)`"},
    "OAuth answer, 100,000 chars each": {
        "code": "a" * 100_000,
        "state": "b" * 100_000,
        "error": "c" * 100_000,
        "error_description": "d" * 100_000,
    },
}
NORMAL_QUERIES: dict[str, dict[str, str]] = {
    "charges": {"range": "all", "currency": "usd", "min": "10", "sort": "amount"},
    "credentials": {},
}
PAGES = ("charges", "subscriptions", "dashboard", "credentials", "webhooks")
QUERY_READERS = ("charges", "credentials")
LARGEST = ("page=<5,000 digits>", "q=<100,000 x %>", "OAuth answer, 100,000 chars each")


def isolate(folder: Path) -> None:
    """A fresh data dir and no secrets: the pages read the demo account, as in the tests."""
    import lib.config

    for name in lib.config.SETTING_VARIABLES:
        os.environ.pop(name, None)
    os.environ["APP_DATA_DIR"] = str(folder)
    lib.config.secrets_files = lambda: []
    lib.config.get_settings.cache_clear()


def fill_mirror(count: int) -> None:
    """`count` charges (and their customers) in the demo account's mirror, marked synced."""
    from bench.bench_finance import make_charges, make_customers
    from lib.store import get_engine
    from lib.sync import SYNC_ORDER, write_objects
    from lib.sync.state import record_page

    rng = random.Random(9)
    stamp = int(datetime.now(UTC).timestamp())
    customers = make_customers(rng, 500, stamp)
    charges = make_charges(rng, count, customers, stamp, span_days=90)
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "customers", customers, stamp)
        for start in range(0, len(charges), 1_000):
            write_objects(connection, "demo", "charges", charges[start : start + 1_000], stamp)
        for resource in SYNC_ORDER:
            record_page(
                connection, "demo", resource, cursor=None, newest_created=None, finished=True
            )


def parse_us(params: dict[str, str], repeats: int = 200) -> float:
    """Fastest microseconds to read `params` as the Charges and Credentials pages do."""
    from lib.finance import from_query_params
    from lib.oauth.stripe_connect import parse_callback

    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        from_query_params(params)
        parse_callback(params)
        samples.append((time.perf_counter() - started) * 1_000_000)
    return min(samples)


def page_run_ms(page: str, params: dict[str, str]) -> tuple[float, bool]:
    """Milliseconds of one whole run of `page` with `params`, and whether it raised."""
    from streamlit.testing.v1 import AppTest

    from lib.config import PROJECT_ROOT

    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / f"{page}.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    started = time.perf_counter()
    at.run()
    return (time.perf_counter() - started) * 1000, bool(at.exception)


def bench_page(page: str, repeats: int) -> float:
    """Print the page's normal and hostile figures; the worst hostile excess in ms."""
    names = list(HOSTILE) if page in QUERY_READERS else list(LARGEST)
    queries = {NORMAL: NORMAL_QUERIES.get(page, {}), **{name: HOSTILE[name] for name in names}}
    samples: dict[str, list[float]] = {name: [] for name in queries}
    raised: set[str] = set()
    for round_number in range(repeats + 1):
        for name, params in queries.items():
            took, failed = page_run_ms(page, params)
            if failed:
                raised.add(name)
            if round_number:  # round 0 warms caches and is not counted
                samples[name].append(took)
    normal = min(samples[NORMAL])
    worst = 0.0
    for name in queries:
        fastest = min(samples[name])
        excess = fastest - normal
        worst = max(worst, excess) if name != NORMAL else worst
        versus = "" if name == NORMAL else f"{excess:+.0f} ms"
        print(f"{page:14} {name:34} {fastest:>7.0f} ms {versus:>10}  {name in raised}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=5_000, help="mirrored charges")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per query")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=PAGES)
    args = parser.parse_args()
    print("reading the query (fastest of 200)")
    for name, params in {NORMAL: NORMAL_QUERIES["charges"], **HOSTILE}.items():
        print(f"  {name:34} {parse_us(params):>8.1f} µs")
    with tempfile.TemporaryDirectory() as folder:
        isolate(Path(folder))
        fill_mirror(args.charges)
        print(f"pages: SQLite, {args.charges:,} mirrored charges, {date.today().isoformat()}")
        print(f"{'page':14} {'query':34} {'fastest':>10} {'vs normal':>10}  exception")
        worst = max(bench_page(page, args.repeats) for page in args.pages)
        print(f"worst hostile query: {worst:+.0f} ms against its page's normal query")


if __name__ == "__main__":
    main()
