"""A widget reads its own provider: a GitHub widget reaches GitHub with the stored GitHub
connection and never Stripe; without a GitHub connection it asks to connect GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import get_settings
from lib.providers.github import GitHubAdapter
from lib.providers.types import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, get_engine, load_secret_box
from tests.apptest_support import run_app, shown_text
from tests.loopback_server import LoopbackServer, Reply

GITHUB_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
ISSUES = "/repos/acme/shop/issues"
GITHUB_WIDGET = {
    "type": "github-issues",
    "version": 1,
    "name": "Open issues",
    "provider": "github",
    "dataSource": {"type": "api", "endpoint": ISSUES, "params": {"state": "open"}},
    "transform": {"mapItem": {"id": "id", "title": "title", "state": "state"}},
    "display": {
        "view": "list",
        "fields": [
            {"key": "title", "label": "Title"},
            {"key": "state", "label": "State", "type": "badge"},
        ],
    },
}


@pytest.fixture
def servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    """A GitHub stand-in and a Stripe stand-in; the dashboard shows only the GitHub widget and
    reads Stripe with a configured key."""
    (tmp_path / "issues.json").write_text(json.dumps(GITHUB_WIDGET), encoding="utf-8")
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))
    with LoopbackServer() as github, LoopbackServer() as stripe:
        monkeypatch.setattr(GitHubAdapter, "default_base_url", github.url)
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_providerwidget0000000000")
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        get_settings.cache_clear()
        yield github, stripe


def store_github_connection() -> CredentialsStore:
    store = CredentialsStore(get_engine(), load_secret_box(get_settings())[0])
    store.save(
        "local",
        "github",
        ProviderCredentials(pat=GITHUB_TOKEN),
        ConnectionInfo(masked_key="ghp_...4a", account_id="583231", account_name="octocat"),
    )
    return store


def page_link_labels(app: AppTest) -> list[str]:
    return [link.proto.label for link in app.get("page_link")]


def test_a_github_widget_reads_github_with_the_github_connection_never_stripe(
    servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    github, stripe = servers
    store_github_connection()
    github.on(
        ISSUES,
        lambda _request: Reply(
            json=[{"id": 1, "title": "Checkout fails on Safari", "state": "open"}]
        ),
    )

    app = run_app()

    assert not app.exception
    [request] = github.requests_to(ISSUES)
    assert request.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert request.param("state") == "open"
    assert stripe.requests == []
    assert any("Checkout fails on Safari" in text for text in shown_text(app))


def test_a_github_widget_without_a_github_connection_asks_to_connect_github(
    servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    github, stripe = servers

    app = run_app()

    assert not app.exception
    assert any("Connect GitHub" in text for text in shown_text(app))
    assert "Connect GitHub" in page_link_labels(app)
    assert github.requests == [] and stripe.requests == []


def test_github_rejecting_the_stored_token_asks_to_reconnect_github(
    servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    github, stripe = servers
    store = store_github_connection()
    github.on(ISSUES, lambda _request: Reply(401, json={"message": "Bad credentials"}))

    app = run_app()

    assert not app.exception
    warnings = [warning.value for warning in app.warning]
    assert "GitHub rejected the stored GitHub connection. Reconnect GitHub to see this widget." in (
        warnings
    )
    assert "Reconnect GitHub" in page_link_labels(app)
    stored = store.get("local", "github")
    assert stored is not None and stored.status == "needs_reconnect"
    assert stripe.requests == []
    assert all(GITHUB_TOKEN not in text for text in shown_text(app))
