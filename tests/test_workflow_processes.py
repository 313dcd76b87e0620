"""Two runner processes on one PostgreSQL and 500 matching events: every side effect reaches
the loopback Jira, Slack and Twilio exactly once (what a team scaling out relies on)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from lib.config import PROJECT_ROOT
from lib.store import create_db_engine, migrate
from lib.workflows import store
from tests.test_workflow_runs import deliver, paid
from tests.workflow_providers import FakeProviders, connect_providers, provider_settings

PAYMENTS = 300
FAILURES = 200
LIVE = ("payment-onboarding-jira", "onboarding-issue-slack", "failed-payment-sms")


def phone(number: int) -> str:
    return f"+1555{number:07d}"


def failed_payment(engine: object, number: int) -> None:
    charge = {
        "id": f"ch_fail_{number:03d}",
        "object": "charge",
        "amount": 1999,
        "currency": "usd",
        "customer": f"cus_f{number:03d}",
        "status": "failed",
        "billing_details": {"email": f"f{number}@example.test", "phone": phone(number)},
    }
    deliver(engine, f"evt_fail_{number:03d}", "charge.failed", charge)  # type: ignore[arg-type]


def runner_env(
    postgres_url: str, key: bytes, providers: FakeProviders, data: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "APP_DATA_DIR": str(data),
        "DATABASE_URL": postgres_url,
        "APP_ENCRYPTION_KEY": key.decode(),
        **provider_settings(providers.url),
        "PYTHONPATH": str(PROJECT_ROOT),
    }


@pytest.mark.postgres
def test_two_runner_processes_send_every_side_effect_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    engine = create_db_engine(postgres_url)
    migrate(engine)
    connect_providers(engine, key, LIVE)
    for number in range(PAYMENTS):
        paid(engine, f"evt_pay_{number:03d}", email=f"c{number}@example.test")
    for number in range(FAILURES):
        failed_payment(engine, number)
    for number in range(0, FAILURES, 10):  # Stripe delivers some events twice
        failed_payment(engine, number)
        paid(engine, f"evt_pay_{number:03d}", email=f"c{number}@example.test")

    with FakeProviders() as providers:
        env = runner_env(postgres_url, key, providers, tmp_path)
        command = [sys.executable, "-m", "tests.workflow_runner_process", "4"]
        processes = [
            subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE)
            for _ in range(2)
        ]
        worked = [int(process.communicate(timeout=300)[0]) for process in processes]
        assert [process.returncode for process in processes] == [0, 0]

        summaries = Counter(issue["fields"]["summary"] for issue in providers.issues.values())
        assert summaries == Counter(
            f"Onboard new customer: c{n}@example.test" for n in range(PAYMENTS)
        )
        assert len(providers.requests_to("/rest/api/3/issue")) == PAYMENTS
        slack_texts = Counter(post["text"] for post in providers.slack_posts)
        assert slack_texts == Counter(
            f"New customer to onboard: {key} {providers.url}/browse/{key}"
            for key in providers.issues
        )
        assert Counter(sms["To"] for sms in providers.sms) == Counter(
            phone(n) for n in range(FAILURES)
        )
        assert {sms["From"] for sms in providers.sms} == {"+15550009999"}
        assert all("https://billing.example.test/update" in sms["Body"] for sms in providers.sms)
    assert all(count > 0 for count in worked), f"one process did all the work: {worked}"
    statuses = Counter(run.status for run in store.list_runs(engine, limit=5000))
    assert statuses == Counter({"succeeded": 2 * PAYMENTS + FAILURES})
    engine.dispose()
