"""Shared fixtures: isolated settings, migrated databases on SQLite and PostgreSQL, and a real
OpenID provider on loopback for sign-in tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine, make_url

import lib.config
import lib.render.client
from lib.store import create_db_engine, dispose_engines, migrate
from tests.app_process import free_port
from tests.oidc_provider import NO_NODE, OidcProvider, app_redirect_uri, unavailable_reason

# Generated-input tests check behaviour, never speed: a busy CI machine must not fail them.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ISOLATED_VARIABLES = (
    "DATABASE_URL",
    "STRIPE_SECRET_KEY",
    "APP_ENCRYPTION_KEY",
    "STRIPE_CLIENT_ID",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_CONNECT_BASE",
    "WIDGETS_DIR",
    "APP_URL",
    "EVENTS_POLL_ENABLED",
    "EVENTS_POLL_INTERVAL_SECONDS",
    "WEBHOOK_BODY_TIMEOUT_SECONDS",
    "WEBHOOK_BODIES_IN_FLIGHT_MB",
    "WEBHOOK_EVENTS_RETENTION_DAYS",
    "ALLOWED_EMAIL_DOMAINS",
    "ALLOWED_EMAILS",
    "ADMIN_EMAILS",
    "ALLOW_REMOTE_ADMIN",
    "APP_LOCALE",
)


@pytest.fixture(autouse=True)
def isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the app at a fresh data dir with no secrets from the environment or secrets.toml."""
    data_dir = tmp_path_factory.mktemp("app-data")
    monkeypatch.setenv("APP_DATA_DIR", str(data_dir))
    for name in ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [])
    lib.config.get_settings.cache_clear()
    yield data_dir
    lib.config.get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(autouse=True)
def browser_on_this_computer(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest has no browser connection: its sessions come from 127.0.0.1 (local mode's admin)
    unless a test replaces these again."""
    monkeypatch.setattr(lib.render.client, "client_address", lambda: "127.0.0.1")
    monkeypatch.setattr(lib.render.client, "proxy_headers", lambda: [])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of its own."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """TEST_POSTGRES_URL (or the local default) once it answers; skip off CI, fail on CI."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    parsed = make_url(url)
    try:
        with psycopg.connect(_libpq_conninfo(url), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        where = parsed.render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {where}: {' '.join(str(exc).split())}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires it)")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty schema on the test server, selected through the URL's search_path."""
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(_libpq_conninfo(postgres_server_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres_server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    dispose_engines()
    with psycopg.connect(_libpq_conninfo(postgres_server_url), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once per backend."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the latest version, once per backend."""
    created = create_db_engine(db_url)
    migrate(created)
    yield created
    created.dispose()


@pytest.fixture
def oidc_app_port() -> int:
    """The loopback port the Streamlit app under a sign-in test will listen on."""
    return free_port()


@pytest.fixture
def oidc_provider(oidc_app_port: int, tmp_path: Path) -> Iterator[OidcProvider]:
    """The test OpenID provider, allowing the app on `oidc_app_port` back in. Skipped where Node
    is missing; skipped where `npm ci --prefix tests/oidc` was not run, except under CI=true
    (`.ci/run` installs it wherever Node is) where that is a failure."""
    reason = unavailable_reason()
    if reason is not None:
        if reason != NO_NODE and os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    provider = OidcProvider([app_redirect_uri(oidc_app_port)], tmp_path)
    try:
        yield provider
    finally:
        provider.stop()


def _libpq_conninfo(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URL that psycopg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
