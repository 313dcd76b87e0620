"""Shared fixtures: isolated settings, migrated databases on SQLite and PostgreSQL, and a real
OpenID provider on loopback for sign-in tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import streamlit as st
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Page
from sqlalchemy.engine import Engine, make_url
from streamlit import config

import lib.accounts
import lib.config
import lib.render.client
from lib.config import PROJECT_ROOT
from lib.demo.transport import DemoStripeTransport
from lib.store import CredentialsStore, create_db_engine, dispose_engines, migrate
from tests.app_process import free_port
from tests.browser_support import chromium_page
from tests.ci import missing_requirement
from tests.credentials_support import app_credentials_store, point_at_fake_stripe
from tests.loopback_server import LoopbackServer
from tests.oidc_provider import NO_NODE, OidcProvider, app_redirect_uri, unavailable_reason

# Generated-input tests check behaviour, never speed: a busy CI machine must not fail them.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Everything but the data dir, which each test gets fresh.
ISOLATED_VARIABLES = tuple(name for name in lib.config.SETTING_VARIABLES if name != "APP_DATA_DIR")


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
def demo_at_noon(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo account as it is at 12:00 UTC today, so "today" holds payments whatever the hour
    the suite runs (its data is built around its clock; just after midnight today is empty)."""
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
    transport = DemoStripeTransport(clock=lambda: noon)
    monkeypatch.setattr(lib.accounts, "_demo_transport", lambda: transport)
    lib.accounts._adapter.cache_clear()
    st.cache_data.clear()
    yield
    lib.accounts._adapter.cache_clear()
    st.cache_data.clear()


@pytest.fixture
def stripe_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """Stripe's API and Connect on loopback, with the app's settings pointing at them."""
    with LoopbackServer() as server:
        point_at_fake_stripe(monkeypatch, server)
        yield server


@pytest.fixture
def store() -> CredentialsStore:
    """The credentials store the pages use (the app's database and encryption key)."""
    return app_credentials_store()


@pytest.fixture
def repo_streamlit_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Streamlit's options as `streamlit run` reads them from the project's .streamlit/."""
    monkeypatch.chdir(PROJECT_ROOT)
    config.get_config_options(force_reparse=True)
    yield
    monkeypatch.undo()
    config.get_config_options(force_reparse=True)


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
        missing_requirement(f"PostgreSQL not reachable at {where}: {' '.join(str(exc).split())}")
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
    yield from _migrated_engine(db_url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """An engine on a SQLite file of its own, migrated to the latest version."""
    yield from _migrated_engine(sqlite_url)


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
    if reason == NO_NODE:
        pytest.skip(reason)
    if reason is not None:
        missing_requirement(reason)
    provider = OidcProvider([app_redirect_uri(oidc_app_port)], tmp_path)
    try:
        yield provider
    finally:
        provider.stop()


def _migrated_engine(url: str) -> Iterator[Engine]:
    created = create_db_engine(url)
    migrate(created)
    yield created
    created.dispose()


def _libpq_conninfo(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URL that psycopg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def browser_page() -> Iterator[Page]:
    """A page in Debian's Chromium; skipped when it is missing, except under CI=true."""
    with chromium_page(1200, 900) as page:
        yield page
