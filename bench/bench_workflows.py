"""Workflow throughput: N signed `charge.succeeded` events through the real app's webhook
endpoint, each starting a Jira run (loopback Jira) whose `jira.issue.created` starts a Slack
run (loopback Slack); on a fresh SQLite file and on a fresh PostgreSQL schema.

Reports runs completed per second (first 200 to last side effect) and the p50/p99 time from
each event's 200 to its Jira issue arriving at the stand-in, and checks one issue and one
Slack post per event.

    python bench/bench_workflows.py -n 1000
    python bench/bench_workflows.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_webhooks import _encoded_request, _read_response, percentile
from lib.store import create_db_engine, migrate
from tests.app_process import AppProcess
from tests.loopback_server import RecordedRequest, Reply
from tests.workflow_providers import FakeProviders, connect_providers, provider_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_bench_workflows_0123456789"
LIVE = ("payment-onboarding-jira", "onboarding-issue-slack")
LABEL_PREFIX = "wf-payment-onboarding-jira-"


class TimedProviders(FakeProviders):
    """The loopback Jira/Slack/Twilio, noting when each event's issue and post arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.issue_at: dict[str, float] = {}
        self.post_times: list[float] = []
        self.on("/rest/api/3/issue", self._timed_issue, method="POST")
        self.on("/chat.postMessage", self._timed_post, method="POST")

    def _timed_issue(self, request: RecordedRequest) -> Reply:
        reply = self._create_issue(request)
        for label in request.json()["fields"]["labels"]:
            self.issue_at.setdefault(label.removeprefix(LABEL_PREFIX), time.perf_counter())
        return reply

    def _timed_post(self, request: RecordedRequest) -> Reply:
        reply = self._post_message(request)
        self.post_times.append(time.perf_counter())
        return reply


def event_body(event_id: str, number: int) -> str:
    charge = {
        "id": f"ch_{event_id}",
        "object": "charge",
        "amount": 1999,
        "currency": "eur",
        "customer": f"cus_{number}",
        "status": "succeeded",
        "billing_details": {"email": f"c{number}@example.test"},
    }
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": charge},
        "livemode": False,
        "pending_webhooks": 1,
        "type": "charge.succeeded",
    }
    return json.dumps(event)


async def send_all(url: str, bodies: dict[str, str], concurrency: int) -> dict[str, float]:
    """POST every body; event id -> perf_counter when its 200 arrived."""
    target = httpx.URL(url)
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for event_id, body in bodies.items():
        queue.put_nowait((event_id, _encoded_request(target, SECRET, body)))
    accepted: dict[str, float] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while not queue.empty():
                event_id, request = queue.get_nowait()
                writer.write(request)
                if await _read_response(reader) == 200:
                    accepted[event_id] = time.perf_counter()
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return accepted


def prepare(database_url: str, key: bytes) -> None:
    """Migrate, connect Jira, Slack and Twilio, and turn real sends on for the two workflows."""
    engine = create_db_engine(database_url)
    migrate(engine)
    connect_providers(engine, key, LIVE)
    engine.dispose()


def bench(label: str, database_url: str, count: int, concurrency: int, wait: float) -> None:
    key = Fernet.generate_key()
    prepare(database_url, key)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-workflows-"))
    with TimedProviders() as providers:
        env = {
            "APP_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "APP_ENCRYPTION_KEY": key.decode(),
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_SECRET_KEY": "",
            **provider_settings(providers.url),
        }
        app = AppProcess(env, data_dir)
        url = app.url
        try:
            run = uuid.uuid4().hex[:6]
            bodies = {
                f"evt_wf_{run}_{n:05d}": event_body(f"evt_wf_{run}_{n:05d}", n)
                for n in range(count)
            }
            accepted = asyncio.run(send_all(url, bodies, concurrency))
            deadline = time.perf_counter() + wait
            while time.perf_counter() < deadline and (
                len(providers.issue_at) < count or len(providers.post_times) < count
            ):
                time.sleep(0.1)
        finally:
            app.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        delays = [providers.issue_at[e] - accepted[e] for e in accepted if e in providers.issue_at]
        side_effects = [*providers.issue_at.values(), *providers.post_times]
        first = min(accepted.values(), default=0.0)
        span = max(side_effects, default=first) - first
        runs = len(providers.issue_at) + len(providers.post_times)
        duplicates = len(providers.requests_to("/rest/api/3/issue")) - len(providers.issue_at)
        print(f"[{label}] events accepted (200): {len(accepted)} of {count}")
        print(
            f"[{label}] Jira issues {len(providers.issue_at)}, Slack posts "
            f"{len(providers.post_times)}, duplicate issues {duplicates}"
        )
        if runs and span > 0:
            print(f"[{label}] runs completed/s: {runs / span:.1f} ({runs} runs in {span:.1f} s)")
        if delays:
            print(
                f"[{label}] 200 -> Jira issue: p50 {percentile(delays, 0.5):.2f} s, "
                f"p99 {percentile(delays, 0.99):.2f} s, max {max(delays):.2f} s"
            )


def fresh_schema_url(server_url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(server_url: str, schema: str) -> None:
    plain = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=10)
    parser.add_argument("--wait", type=float, default=150, help="seconds to wait for the runs")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="bench-workflows-db-"))
        try:
            url = f"sqlite:///{folder / 'dashboard.db'}"
            bench("sqlite", url, args.events, args.concurrency, args.wait)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if not args.skip_postgres:
        url, schema = fresh_schema_url(args.postgres)
        try:
            bench("postgres", url, args.events, args.concurrency, args.wait)
        finally:
            drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
