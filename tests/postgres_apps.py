"""Several app processes on one PostgreSQL schema: the set-up the two-process tests and
`bench/bench_processes.py` share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from tests.conftest import _libpq_conninfo
from tests.test_webhook_receiver import SECRET


@contextmanager
def fresh_schema(server_url: str, prefix: str) -> Iterator[str]:
    """A new schema on the server of `server_url`, dropped afterwards: yields the database URL
    whose connections use it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_conninfo(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq_conninfo(server_url), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def polling_app_env(
    database_url: str, stripe_key: str, stripe_api_base: str, interval: float
) -> dict[str, str]:
    """The settings every process shares: one database, encryption key, Stripe account and
    webhook secret, polling Stripe's Events API every `interval` seconds."""
    return {
        "DATABASE_URL": database_url,
        "APP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": stripe_key,
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "EVENTS_POLL_ENABLED": "true",
        "EVENTS_POLL_INTERVAL_SECONDS": str(interval),
    }
