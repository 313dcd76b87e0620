"""SIGKILL of a runner process while a step's request is in flight, then a new process: the run
completes with no duplicate side effect (issue 13). PostgreSQL, real OS processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from lib.config import PROJECT_ROOT
from lib.store import create_db_engine, migrate
from lib.workflows import store
from tests.loopback_server import RecordedRequest, Reply
from tests.test_workflow_processes import failed_payment, phone, runner_env
from tests.test_workflow_runs import paid
from tests.workflow_providers import (
    MESSAGES_PATH,
    FakeProviders,
    connect_providers,
)

LEASE_SECONDS = 2
# The app's webhook worker and workflow runner (as tests/workflow_runner_process.py) with a
# short lease, so a run left by a killed process is claimable again after LEASE_SECONDS.
RUNNER = f"""
import sys, time
from datetime import timedelta
from lib.store import get_engine
from lib.webhooks import WebhookWorker
from lib.workflows.runtime import WorkflowRunner

runner = WorkflowRunner(lease=timedelta(seconds={LEASE_SECONDS}))
worker = WebhookWorker(get_engine, reactions=[("*", runner.react)], batch_size=50)
idle, last_work = float(sys.argv[1]), time.monotonic()
while time.monotonic() - last_work < idle:
    if worker.process_pending() + runner.process_due():
        last_work = time.monotonic()
    else:
        time.sleep(0.05)
"""


class HeldRequest:
    """Wraps a FakeProviders handler: the first request is answered by the handler (the side
    effect happens) but its reply is held until `release()`; later ones go straight through."""

    def __init__(self, handler: Callable[[RecordedRequest], Reply]) -> None:
        self._handler = handler
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._held = False
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = self._handler(request)
        with self._lock:
            hold, self._held = not self._held, True
        if hold:
            self.arrived.set()
            self._released.wait(timeout=60)
        return reply

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


def start_runner(env: dict[str, str], idle: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", RUNNER, str(idle)], cwd=PROJECT_ROOT, env=env)


def kill_while_held(process: subprocess.Popen[bytes], held: HeldRequest) -> None:
    """SIGKILL `process` once the held request reached the provider, then let the reply go."""
    assert held.arrived.wait(timeout=60), "the step's request never reached the provider"
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    held.release()


def restart(env: dict[str, str]) -> None:
    """A new runner process, working until idle (it waits out the dead process's lease)."""
    process = start_runner(env, idle=LEASE_SECONDS + 4)
    assert process.wait(timeout=120) == 0


@pytest.mark.postgres
def test_killed_during_jira_create_completes_with_one_issue_and_one_slack_post(
    engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    connect_providers(engine, key, ("payment-onboarding-jira", "onboarding-issue-slack"))
    with FakeProviders() as providers:
        held = HeldRequest(providers._create_issue)
        providers.on("/rest/api/3/issue", held, method="POST")
        env = runner_env(postgres_url, key, providers, tmp_path)
        first = start_runner(env, idle=300)
        try:
            paid(engine, "evt_pay_kill", email="kill@example.test")
            kill_while_held(first, held)
        finally:
            if first.poll() is None:
                first.kill()
            held.release()
        [jira_run] = store.list_runs(engine)
        assert jira_run.status == "running"  # left mid-step by the killed process
        assert store.load_steps(engine, jira_run.id)[0].status == "sending"

        restart(env)

        label = "wf-payment-onboarding-jira-evt_pay_kill"
        assert [issue["fields"]["labels"] for issue in providers.issues.values()] == [[label]]
        assert len(providers.requests_to("/rest/api/3/issue")) == 1
        assert len(providers.requests_to("/rest/api/3/search/jql")) == 2  # before each try
        [issue_key] = providers.issues
        assert [post["text"] for post in providers.slack_posts] == [
            f"New customer to onboard: {issue_key} {providers.url}/browse/{issue_key}"
        ]
    runs = {run.workflow_id: run for run in store.list_runs(engine)}
    assert {workflow: run.status for workflow, run in runs.items()} == {
        "payment-onboarding-jira": "succeeded",
        "onboarding-issue-slack": "succeeded",
    }
    jira_step = store.load_steps(engine, runs["payment-onboarding-jira"].id)[0]
    assert jira_step.status == "succeeded"
    assert jira_step.outputs is not None and jira_step.outputs["issue.key"] == issue_key
    assert jira_step.response is not None and jira_step.response["found_existing"] is True


@pytest.mark.postgres
def test_killed_after_twilio_received_the_sms_ends_outcome_unknown_without_resending(
    engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    connect_providers(engine, key, ("failed-payment-sms",))
    with FakeProviders() as providers:
        held = HeldRequest(providers._send_sms)
        providers.on(MESSAGES_PATH, held, method="POST")
        env = runner_env(postgres_url, key, providers, tmp_path)
        first = start_runner(env, idle=300)
        try:
            failed_payment(engine, 7)
            kill_while_held(first, held)
        finally:
            if first.poll() is None:
                first.kill()
            held.release()
        [sms_run] = store.list_runs(engine)
        assert store.load_steps(engine, sms_run.id)[1].status == "sending"

        restart(env)

        assert [sms["To"] for sms in providers.sms] == [phone(7)]
        assert len(providers.requests_to(MESSAGES_PATH)) == 1
    [run] = store.list_runs(engine)
    assert run.workflow_id == "failed-payment-sms"
    assert run.status == "unknown"
    assert run.outcome is not None and run.outcome.startswith("outcome unknown")
    steps = store.load_steps(engine, run.id)
    assert [(step.step_id, step.status) for step in steps.values()] == [
        ("link", "succeeded"),
        ("sms", "unknown"),
    ]
