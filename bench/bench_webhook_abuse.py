"""Abuse test: a flood of stalled 1 MiB webhook bodies against the real app, and a real delivery.

Starts `streamlit run app.py` on a free loopback port (fresh SQLite file, a webhook secret), then
opens FLOOD connections that each declare a 1 MiB body, send all of it but the last byte and
stall; a connection the server closes is opened again at once, as a determined attacker would.
While the flood holds, it makes signed deliveries one after another and reports their status and
latency, and whether they were stored. It reports the server's resident memory (VmRSS) before,
at its peak during, and a few seconds after the flood, and what the flood connections were told.

    python bench/bench_webhook_abuse.py                 # 300 connections for 15 s
    python bench/bench_webhook_abuse.py --no-reconnect   # each flood connection opened once
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_webhooks import BENCH_SECRET, signed_bodies, start_app
from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import WEBHOOK_PATH

DECLARED_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024


@dataclass
class FloodTally:
    """What the flood connections saw: answers by status, and connections opened."""

    answers: Counter[str] = field(default_factory=Counter)
    opened: int = 0


def resident_mib(pid: int) -> float:
    """The process's resident set size in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def stalled_sender(
    host: str, port: int, until: float, tally: FloodTally, *, reconnect: bool
) -> None:
    """Declare 1 MiB, send all but the last byte, stall until `until`; when the server hangs
    up first, connect again if `reconnect`."""
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\n"
        f"Content-Length: {DECLARED_BYTES}\r\n\r\n"
    ).encode()
    body = memoryview(b"x" * (DECLARED_BYTES - 1))
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        tally.opened += 1
        answer = asyncio.ensure_future(reader.readline())
        tally.answers[await _send_and_wait(writer, head, body, answer, until)] += 1
        if not answer.done():
            answer.cancel()
        elif not answer.cancelled():
            answer.exception()  # retrieved, so asyncio does not report it
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        if not reconnect:
            return
        await asyncio.sleep(0.05)


async def _send_and_wait(
    writer: asyncio.StreamWriter,
    head: bytes,
    body: memoryview,
    answer: asyncio.Future[bytes],
    until: float,
) -> str:
    """Send `head` and `body` until the server answers; the status it gave, or why none."""
    try:
        writer.write(head)
        for start in range(0, len(body), CHUNK_BYTES):
            if answer.done() or time.monotonic() >= until:
                break
            writer.write(body[start : start + CHUNK_BYTES])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.drain(), max(0.01, until - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(answer), max(0.01, until - time.monotonic()))
    except OSError:
        return "reset"
    if not answer.done():
        return "still open at the end"
    if answer.exception() is not None:
        return "reset"
    status_line = answer.result().decode("latin-1").split()
    return status_line[1] if len(status_line) > 1 else "closed"


async def legit_deliveries(
    url: str, bodies: list[str], start_after: float
) -> list[tuple[int, float]]:
    """Post each signed body on a fresh connection, one after another: (status, seconds)."""
    await asyncio.sleep(start_after)
    outcomes = []
    for body in bodies:
        header = stripe.WebhookSignature.generate_signature_header(body, BENCH_SECRET)
        began = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(
                    url + WEBHOOK_PATH,
                    content=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        outcomes.append((status, time.perf_counter() - began))
        await asyncio.sleep(0.5)
    return outcomes


async def sample_peak(pid: int, until: float) -> float:
    peak = 0.0
    while time.monotonic() < until:
        peak = max(peak, resident_mib(pid))
        await asyncio.sleep(0.1)
    return peak


async def flood(
    url: str, pid: int, connections: int, seconds: float, bodies: list[str], reconnect: bool
) -> tuple[FloodTally, float, list[tuple[int, float]]]:
    target = httpx.URL(url)
    until = time.monotonic() + seconds
    tally = FloodTally()
    senders = [
        stalled_sender(target.host, target.port or 80, until, tally, reconnect=reconnect)
        for _ in range(connections)
    ]
    results = await asyncio.gather(
        sample_peak(pid, until), legit_deliveries(url, bodies, start_after=3.0), *senders
    )
    return tally, results[0], results[1]


def stored(database_url: str, event_ids: list[str]) -> int:
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(sa.func.count()).where(webhook_events.c.event_id.in_(event_ids))
        ).scalar_one()
    engine.dispose()
    return int(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=300, help="stalled connections")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the flood lasts")
    parser.add_argument("--deliveries", type=int, default=8, help="signed deliveries meanwhile")
    parser.add_argument(
        "--no-reconnect",
        action="store_true",
        help="open each flood connection once (default: open it again when the server closes it)",
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhook-abuse-"))
    process, url = start_app(data_dir, BENCH_SECRET, None)
    database_url = f"sqlite:///{data_dir / 'dashboard.db'}"
    try:
        warm_up = signed_bodies(1, uuid.uuid4().hex[:8])
        asyncio.run(legit_deliveries(url, warm_up, start_after=0))
        time.sleep(1)
        before = resident_mib(process.pid)
        bodies = signed_bodies(args.deliveries, uuid.uuid4().hex[:8])
        tally, peak, outcomes = asyncio.run(
            flood(url, process.pid, args.flood, args.seconds, bodies, not args.no_reconnect)
        )
        time.sleep(3)
        after = resident_mib(process.pid)
        latencies = [seconds * 1000 for _status, seconds in outcomes]
        statuses = Counter(status for status, _seconds in outcomes)
        event_ids = [json.loads(body)["id"] for body in bodies]
        again = "not reopened" if args.no_reconnect else "reopened when closed"
        print(
            f"flood:              {args.flood} connections x 1 MiB declared ({again}), "
            f"{args.seconds:g} s"
        )
        print(f"flood connections:  {tally.opened} opened; answers {dict(tally.answers)}")
        print(f"server RSS MiB:     before {before:.0f}, peak during {peak:.0f}, after {after:.0f}")
        print(f"signed deliveries:  {len(outcomes)} during the flood, statuses {dict(statuses)}")
        print(
            f"delivery latency:   median {statistics.median(latencies):.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
        print(f"stored:             {stored(database_url, event_ids)} of {len(bodies)}")
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
