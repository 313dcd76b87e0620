"""Load test: N signed Stripe events with concurrency C against the app's webhook endpoint.

Starts `streamlit run app.py` on a free loopback port (on a fresh SQLite file, or on
--database-url), or targets a running app with --url and --database-url. Posts N distinct,
Stripe-shaped events (the demo account's charges, new ids) and reports accepted/s, p50/p99
latency, and whether the stored rows are exactly the distinct events sent (nothing lost,
nothing doubled); then waits for the worker and reports how long processing took to catch up.

    python bench/bench_webhooks.py -n 2000 -c 20
    python bench/bench_webhooks.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/bench_webhooks.py --url http://127.0.0.1:8501 --secret whsec_... \
        --database-url sqlite:////path/to/dashboard.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.demo import build_demo_account
from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import WEBHOOK_PATH

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "whsec_bench_0123456789abcdef"


@dataclass(frozen=True)
class Outcome:
    status: int
    seconds: float


def signed_bodies(count: int, run: str) -> list[str]:
    """`count` event bodies shaped like the demo account's charge events, with unique ids."""
    templates = [e for e in build_demo_account().events if e["type"].startswith("charge.")]
    return [
        json.dumps({**templates[index % len(templates)], "id": f"evt_bench_{run}_{index:07d}"})
        for index in range(count)
    ]


async def send_all(url: str, secret: str, bodies: list[str], concurrency: int) -> list[Outcome]:
    """POST every body over `concurrency` keep-alive connections; one outcome per body.

    A bare HTTP/1.1 client on asyncio streams, with every request signed and encoded
    up front, so the client on the same machine takes as little CPU from the server as it can.
    """
    target = httpx.URL(url)
    requests = [_encoded_request(target, secret, body) for body in bodies]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    outcomes: list[Outcome] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                began = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                outcomes.append(Outcome(status, time.perf_counter() - began))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return outcomes


def _encoded_request(target: httpx.URL, secret: str, body: str) -> bytes:
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    content = body.encode()
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Content-Type: application/json\r\nStripe-Signature: {header}\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    )
    return head.encode() + content


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    await reader.readexactly(length)
    return status


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_app(
    data_dir: Path, secret: str, database_url: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "APP_DATA_DIR": str(data_dir), "STRIPE_WEBHOOK_SECRET": secret}
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/_stcore/health", timeout=1).text == "ok":
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the app did not start within 60 s")


def stored_counts(database_url: str, run: str) -> tuple[int, int, int]:
    """(rows, distinct event ids, rows still pending) stored by this run."""
    engine = create_db_engine(database_url)
    mine = webhook_events.c.event_id.like(f"evt_bench_{run}_%")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).where(mine)).scalar_one()
        distinct = connection.execute(
            sa.select(sa.func.count(sa.distinct(webhook_events.c.event_id))).where(mine)
        ).scalar_one()
        pending = connection.execute(
            sa.select(sa.func.count()).where(mine, webhook_events.c.status == "pending")
        ).scalar_one()
    engine.dispose()
    return rows, distinct, pending


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument("--url", help="a running app; default: start one")
    parser.add_argument("--secret", default=BENCH_SECRET, help="its STRIPE_WEBHOOK_SECRET")
    parser.add_argument(
        "--database-url",
        help="its database, to check what was stored (when starting one: the database it "
        "uses; default a fresh SQLite file)",
    )
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    bodies = signed_bodies(args.events, run)
    process = None
    database_url = args.database_url
    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    if args.url is None:
        process, url = start_app(data_dir, args.secret, database_url)
        database_url = database_url or f"sqlite:///{data_dir / 'dashboard.db'}"
    else:
        url = args.url.rstrip("/")
    try:
        # Warm-up: the first delivery opens and migrates the database.
        asyncio.run(send_all(url, args.secret, signed_bodies(1, uuid.uuid4().hex[:8]), 1))
        began = time.perf_counter()
        outcomes = asyncio.run(send_all(url, args.secret, bodies, args.concurrency))
        elapsed = time.perf_counter() - began
        accepted = [o for o in outcomes if o.status == 200]
        latencies = [o.seconds * 1000 for o in outcomes]
        print(f"events sent:        {len(bodies)} with concurrency {args.concurrency}")
        print(
            f"accepted (200):     {len(accepted)}; other statuses: {len(outcomes) - len(accepted)}"
        )
        print(f"accepted/s:         {len(accepted) / elapsed:.0f}")
        print(
            f"latency ms:         p50 {statistics.median(latencies):.1f}  "
            f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
        )
        if database_url is None:
            print("stored rows:        not checked (give --database-url)")
            return
        rows, distinct, pending = stored_counts(database_url, run)
        verdict = "OK" if rows == distinct == len(bodies) else "MISMATCH"
        print(f"stored rows:        {rows} ({distinct} distinct) for {len(bodies)} sent: {verdict}")
        drain_began = time.perf_counter()
        while pending and time.perf_counter() - drain_began < 60:
            time.sleep(0.05)
            pending = stored_counts(database_url, run)[2]
        print(
            f"processing caught up {time.perf_counter() - drain_began:.2f} s after the last 200"
            if not pending
            else f"still pending after 60 s: {pending}"
        )
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
