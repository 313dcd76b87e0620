"""Benchmark: exporting 1,000,000 mirrored charges, before and after streaming.

- Before: the CSV built whole in memory (what the Charges page's `st.download_button` needed
  before the first byte could leave), measured in a process of its own: time to the first byte
  (= the whole build), total, and the process's peak resident memory.
- After: `streamlit run app.py` serving `GET /api/exports/charges.csv` with a signed link:
  time to the first byte and to the last, the serving process's resident memory before and its
  peak (VmHWM) after, and every id checked (none missing, none twice).
- Excel: the workbook of the charges one currency matches (about the Excel cap of
  `lib.finance.export.XLSX_EXPORT_MAX_CHARGES`), time and peak memory, which is why larger sets
  are offered as CSV only.

Run from the project root: `python -m bench.bench_export` (SQLite), add
`--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test` for PostgreSQL too, `--help` for
the sizes. Linux only (reads /proc for memory).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine, make_url

import lib.config
from bench.bench_finance import make_charges, make_customers
from lib.exports import (
    EXPORT_ROUTE_PATH,
    LINK_PARAM,
    ExportGrant,
    export_signing_key,
    issue_export_link,
)
from lib.finance import ChargeFilters, charges_csv, charges_xlsx, currency_summaries
from lib.finance.export import XLSX_EXPORT_MAX_CHARGES
from lib.store import create_db_engine, migrate
from lib.sync import write_objects
from lib.sync.store import refresh_planner_statistics
from tests.app_process import AppProcess
from tests.mirror_support import record_synced

ACCOUNT = "demo"  # the app under test has no Stripe key: its pages and the route show the demo
ALL = ChargeFilters(preset="all")
EXCEL_FILTERS = ChargeFilters(preset="all", currencies=("gbp",))
BATCH = 10_000


def fill_mirror(engine: Engine, count: int, now: int) -> float:
    """`count` charges (about 2 KB of Stripe JSON each) over a year, written in batches the way
    a sync writes pages; returns the seconds taken."""
    rng = random.Random(14)
    customers = make_customers(rng, 5_000, now)
    started = time.perf_counter()
    with engine.begin() as connection:
        write_objects(connection, ACCOUNT, "customers", customers, now)
        record_synced(connection, ACCOUNT)
    for first in range(0, count, BATCH):
        batch = make_charges(rng, min(BATCH, count - first), customers, now, span_days=365)
        for number, charge in enumerate(batch, start=first):
            charge["id"] = f"ch_{number:024d}"
        with engine.begin() as connection:
            write_objects(connection, ACCOUNT, "charges", batch, now)
    refresh_planner_statistics(engine)
    return time.perf_counter() - started


def peak_rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(resident now, peak resident) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def measure_build(url: str, kind: str) -> None:
    """In a process of its own: build one export whole in memory and print what it cost."""
    engine = create_db_engine(url)
    before, _ = peak_rss_mb()
    now = datetime.now(UTC)
    filters = ALL if kind == "csv" else EXCEL_FILTERS
    build = charges_csv if kind == "csv" else charges_xlsx
    started = time.perf_counter()
    data = build(engine, ACCOUNT, filters, now)
    seconds = time.perf_counter() - started
    _, peak = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "bytes": len(data), "rss_mb": before, "peak_mb": peak}))


def built_in_a_process(url: str, kind: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--measure-build", kind, "--url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def streamed_from_the_app(url: str, folder: Path, key: str, count: int) -> dict[str, float]:
    """Start `streamlit run app.py` on the database, download the export through a signed link
    and check every id; return the figures."""
    env = {"DATABASE_URL": url, "APP_DATA_DIR": str(folder), "APP_ENCRYPTION_KEY": key}
    app = AppProcess(env, folder)
    try:
        # Warm up: the route's first request imports and connects; then measure a second one.
        nothing = ChargeFilters(preset="all", text="no such charge")
        warm_up = {LINK_PARAM: _signed_link(env, nothing)}
        httpx.get(f"{app.url}{EXPORT_ROUTE_PATH}", params=warm_up, timeout=60).raise_for_status()
        rss_before, _ = peak_rss_mb(app.process.pid)
        link = _signed_link(env, ALL)
        started = time.perf_counter()
        first_byte = None
        body = io.BytesIO()
        with httpx.stream(
            "GET", f"{app.url}{EXPORT_ROUTE_PATH}", params={LINK_PARAM: link}, timeout=600
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                body.write(chunk)
        total = time.perf_counter() - started
        rss_after, peak = peak_rss_mb(app.process.pid)
    finally:
        app.stop()
    size = body.tell()
    ids = [row["id"] for row in csv.DictReader(io.StringIO(body.getvalue().decode()))]
    return {
        "first_byte": first_byte or total,
        "seconds": total,
        "bytes": size,
        "rows": len(ids),
        "missing": count - len(set(ids)),
        "twice": len(ids) - len(set(ids)),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "peak_mb": peak,
    }


def _signed_link(env: dict[str, str], filters: ChargeFilters) -> str:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    lib.config.get_settings.cache_clear()
    try:
        key = export_signing_key(lib.config.get_settings())
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        lib.config.get_settings.cache_clear()
    return issue_export_link(key, ExportGrant(ACCOUNT, filters, datetime.now(UTC), None))


def bench(name: str, url: str, count: int) -> None:
    engine = create_db_engine(url)
    migrate(engine)
    seconds = fill_mirror(engine, count, int(time.time()))
    excel_matches = sum(
        s.count for s in currency_summaries(engine, ACCOUNT, EXCEL_FILTERS, datetime.now(UTC))
    )
    engine.dispose()
    print(f"\n{name}: mirrored {count:,} charges in {seconds:.0f} s")
    before = built_in_a_process(url, "csv")
    with tempfile.TemporaryDirectory() as folder:
        after = streamed_from_the_app(url, Path(folder), Fernet.generate_key().decode(), count)
    excel = built_in_a_process(url, "xlsx")
    print(f"{'CSV of every charge':34} {'first byte':>11} {'total':>9} {'MB':>7} {'peak RSS':>17}")
    print(
        f"{'before: built whole in memory':34} {before['seconds']:>9.1f} s "
        f"{before['seconds']:>7.1f} s {before['bytes'] / 1e6:>7.0f} "
        f"{before['rss_mb']:>5.0f} -> {before['peak_mb']:>5.0f} MB"
    )
    print(
        f"{'after: streamed by the app':34} {after['first_byte'] * 1000:>8.0f} ms "
        f"{after['seconds']:>7.1f} s {after['bytes'] / 1e6:>7.0f} "
        f"{after['rss_before_mb']:>5.0f} -> {after['peak_mb']:>5.0f} MB"
    )
    print(
        f"  rows {after['rows']:,}, missing {after['missing']:,}, twice {after['twice']:,}; "
        f"server RSS after the download {after['rss_after_mb']:.0f} MB"
    )
    print(
        f"Excel of {excel_matches:,} charges (cap {XLSX_EXPORT_MAX_CHARGES:,}): "
        f"{excel['seconds']:.1f} s, {excel['bytes'] / 1e6:.0f} MB file, peak RSS "
        f"{excel['rss_mb']:.0f} -> {excel['peak_mb']:.0f} MB"
    )


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'export.db'}"


@contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """A fresh schema on `server`, dropped afterwards."""
    schema = f"bench_export_{uuid.uuid4().hex[:12]}"
    plain = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=1_000_000, help="mirrored charges")
    parser.add_argument("--postgres", help="also on this PostgreSQL server (a schema of its own)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--measure-build", choices=("csv", "xlsx"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_build:
        measure_build(args.url, args.measure_build)
        return
    print(f"{date.today().isoformat()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if not args.no_sqlite:
        with sqlite_database() as url:
            bench("SQLite", url, args.charges)
    if args.postgres:
        with postgres_schema(args.postgres) as url:
            bench("PostgreSQL", url, args.charges)


if __name__ == "__main__":
    main()
