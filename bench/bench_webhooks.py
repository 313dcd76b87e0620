"""Load test: N signed Stripe events with concurrency C against the app's webhook endpoint,
under `streamlit run app.py` and under `uvicorn app:app`, in one run.

Starts the app under each server in turn on a free loopback port (each on a fresh SQLite file,
or both on --database-url), posts N distinct, Stripe-shaped events (the demo account's charges,
new ids) and reports accepted/s, p50/p99 latency, and whether the stored rows are exactly the
distinct events sent (nothing lost, nothing doubled); then waits for the worker and reports how
long processing took to catch up. Last, streamlit's throughput as a share of uvicorn's, and
whether the targets hold (at least 90 %, p99 under 50 ms under `streamlit run`). With --url it
targets one running app instead.

    python bench/bench_webhooks.py -n 2000 -c 20
    python bench/bench_webhooks.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/bench_webhooks.py --rounds 4   # servers alternate who goes first; medians
    python bench/bench_webhooks.py --url http://127.0.0.1:8501 --secret whsec_... \
        --database-url sqlite:////path/to/dashboard.db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


SERVERS = ("streamlit", "uvicorn")
# The targets for `streamlit run`, against the same code under uvicorn.
TARGET_SHARE_OF_UVICORN = 0.90
TARGET_P99_MS = 50.0


def server_command(server: str, port: int) -> list[str]:
    """The command serving app.py on 127.0.0.1:`port` with `server` ("streamlit" or "uvicorn").

    uvicorn without its access log, as Streamlit configures it, so both do the same work.
    """
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", "app:app", "--no-access-log"]
        return [*command, "--host", "127.0.0.1", "--port", str(port)]
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    return [*command, "--server.address", "127.0.0.1", "--server.port", str(port)]


def start_app(
    data_dir: Path, secret: str, database_url: str | None, server: str = "streamlit"
) -> tuple[subprocess.Popen[bytes], str]:
    """The app under `server` on a free loopback port, once it answers its health check."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "APP_DATA_DIR": str(data_dir), "STRIPE_WEBHOOK_SECRET": secret}
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    process = subprocess.Popen(
        server_command(server, port),
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
    raise SystemExit(f"the app did not start under {server} within 60 s")


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


@dataclass(frozen=True)
class Measurement:
    """One load run against one server."""

    server: str
    sent: int
    accepted: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_event: float | None  # the server's CPU time (None: not measured)
    stored_ok: bool | None  # None: not checked (no database given)
    caught_up_seconds: float | None  # None: still pending after 60 s, or not checked

    def report(self) -> str:
        stored = {None: "not checked", True: "OK", False: "MISMATCH"}[self.stored_ok]
        caught_up = (
            "not caught up in time"
            if self.caught_up_seconds is None
            else f"caught up {self.caught_up_seconds:.2f} s after the last 200"
        )
        cpu = "" if self.cpu_ms_per_event is None else f"  cpu {self.cpu_ms_per_event:.2f} ms/event"
        return (
            f"{self.server:<10} accepted {self.accepted}/{self.sent}  "
            f"{self.per_second:5.0f}/s  p50 {self.p50_ms:5.1f} ms  p99 {self.p99_ms:5.1f} ms  "
            f"max {self.max_ms:6.1f} ms{cpu}  stored: {stored}; {caught_up}"
        )


def cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU time process `pid` has used so far (Linux /proc), else None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of proc(5); 12 and 13 after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    server: str,
    url: str,
    secret: str,
    database_url: str | None,
    events: int,
    concurrency: int,
    drain_seconds: float = 60,
    server_pid: int | None = None,
) -> Measurement:
    """Send `events` new events with `concurrency` to `url`; check what was stored, and wait up
    to `drain_seconds` for the worker to process them. With `server_pid`, also the CPU time
    the server spent per event while they were sent (its worker's share included)."""
    run = uuid.uuid4().hex[:8]
    bodies = signed_bodies(events, run)
    # Warm-up: the first delivery opens and migrates the database.
    asyncio.run(send_all(url, secret, signed_bodies(1, uuid.uuid4().hex[:8]), 1))
    cpu_before = cpu_seconds(server_pid)
    began = time.perf_counter()
    outcomes = asyncio.run(send_all(url, secret, bodies, concurrency))
    elapsed = time.perf_counter() - began
    cpu_after = cpu_seconds(server_pid)
    cpu_ms = (
        None
        if cpu_before is None or cpu_after is None
        else (cpu_after - cpu_before) * 1000 / len(bodies)
    )
    accepted = sum(outcome.status == 200 for outcome in outcomes)
    latencies = [outcome.seconds * 1000 for outcome in outcomes]
    stored_ok: bool | None = None
    caught_up: float | None = None
    if database_url is not None:
        rows, distinct, pending = stored_counts(database_url, run)
        stored_ok = rows == distinct == len(bodies)
        drain_began = time.perf_counter()
        while pending and time.perf_counter() - drain_began < drain_seconds:
            time.sleep(0.05)
            with contextlib.suppress(sa.exc.OperationalError):  # SQLite busy: look again
                pending = stored_counts(database_url, run)[2]
        caught_up = None if pending else time.perf_counter() - drain_began
    return Measurement(
        server=server,
        sent=len(bodies),
        accepted=accepted,
        per_second=accepted / elapsed,
        p50_ms=statistics.median(latencies),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies),
        cpu_ms_per_event=cpu_ms,
        stored_ok=stored_ok,
        caught_up_seconds=caught_up,
    )


def measure_started(
    server: str,
    secret: str,
    database_url: str | None,
    events: int,
    concurrency: int,
    drain_seconds: float = 60,
) -> Measurement:
    """Start the app under `server` (a fresh SQLite file unless `database_url`), measure it,
    stop it."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-webhooks-{server}-"))
    process, url = start_app(data_dir, secret, database_url, server)
    try:
        checked_url = database_url or f"sqlite:///{data_dir / 'dashboard.db'}"
        return measure(
            server, url, secret, checked_url, events, concurrency, drain_seconds, process.pid
        )
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not lose the figures over it
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def comparison(results: dict[str, list[Measurement]]) -> list[str]:
    """Streamlit against uvicorn (medians over the rounds), and the targets."""
    streamlit = statistics.median(m.per_second for m in results["streamlit"])
    uvicorn = statistics.median(m.per_second for m in results["uvicorn"])
    p99 = statistics.median(m.p99_ms for m in results["streamlit"])
    share = streamlit / uvicorn
    complete = all(m.stored_ok and m.accepted == m.sent for runs in results.values() for m in runs)
    verdict = "met" if share >= TARGET_SHARE_OF_UVICORN and p99 < TARGET_P99_MS else "NOT met"
    return [
        f"streamlit/uvicorn: {share:.0%} of the throughput ({streamlit:.0f}/s vs {uvicorn:.0f}/s); "
        f"streamlit p99 {p99:.1f} ms",
        f"targets (>= {TARGET_SHARE_OF_UVICORN:.0%}, p99 < {TARGET_P99_MS:.0f} ms): {verdict}; "
        f"every event stored once, none lost: {'yes' if complete else 'NO'}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        choices=[",".join(SERVERS), ",".join(SERVERS[::-1]), *SERVERS],
        help="which servers to start, in which order (default both)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs per server; medians compared")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=60,
        help="how long to wait for the worker to process the events (default 60)",
    )
    parser.add_argument("--url", help="a running app; default: start it under both servers")
    parser.add_argument("--secret", default=BENCH_SECRET, help="its STRIPE_WEBHOOK_SECRET")
    parser.add_argument(
        "--database-url",
        help="its database, to check what was stored (when starting the app: the database it "
        "uses; default a fresh SQLite file per server)",
    )
    args = parser.parse_args()
    print(
        f"{args.events} events, concurrency {args.concurrency}, "
        f"database {args.database_url or 'SQLite (fresh file)'}, {os.cpu_count()} CPUs"
    )
    if args.url is not None:
        url = args.url.rstrip("/")
        result = measure(
            "--url", url, args.secret, args.database_url, args.events, args.concurrency
        )
        print(result.report())
        return
    servers = tuple(args.servers.split(","))
    results: dict[str, list[Measurement]] = {server: [] for server in servers}
    for round_number in range(args.rounds):
        # Every other round the other server goes first, so neither always meets the same load.
        for server in servers if round_number % 2 == 0 else servers[::-1]:
            result = measure_started(
                server,
                args.secret,
                args.database_url,
                args.events,
                args.concurrency,
                args.drain_seconds,
            )
            results[server].append(result)
            print(result.report(), flush=True)
    if set(servers) == set(SERVERS):
        for line in comparison(results):
            print(line)


if __name__ == "__main__":
    main()
