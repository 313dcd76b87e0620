"""Stripe Connect OAuth end to end against a fake connect.stripe.com and Stripe API on loopback:
the start route, the state checks, the code exchange, and deauthorization on disconnect."""

from __future__ import annotations

import base64
import hashlib
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

import lib.config
from lib.connections import connect_with_stripe_oauth, disconnect
from lib.http_routes import build_routes
from lib.oauth import STATE_COOKIE, OAuthCallback
from lib.providers import ProviderCredentials, RetryPolicy, StripeAdapter
from lib.store import ConnectionInfo, CredentialsStore, OAuthStateStore, get_engine
from lib.store.tables import oauth_states, user_credentials
from tests.credentials_support import (
    ACCESS_TOKEN,
    CLIENT_ID,
    PLATFORM_KEY,
    REFRESH_TOKEN,
    offer_stripe_connect,
)
from tests.loopback_server import LoopbackServer, Reply, unused_url

ACCOUNT_ID = "acct_1ConnectedAcct01"
APP_URL = "http://localhost:8501"
# Without sign-in only this computer may start a connection (local mode).
LOOPBACK_CLIENT = ("127.0.0.1", 50000)
TOKEN_ANSWER = {
    "access_token": ACCESS_TOKEN,
    "refresh_token": REFRESH_TOKEN,
    "token_type": "bearer",
    "stripe_publishable_key": "pk_test_51ConnectedPublishable",
    "stripe_user_id": ACCOUNT_ID,
    "scope": "read_write",
    "livemode": False,
}
NO_RETRY = RetryPolicy(max_attempts=1)
ACCOUNT_ANSWER = {"id": ACCOUNT_ID, "business_profile": {"name": "Rocket Rides"}}


@pytest.fixture
def stripe_fake(stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """connect.stripe.com and api.stripe.com on loopback, with OAuth configured to use them."""
    monkeypatch.setenv("APP_URL", APP_URL)
    offer_stripe_connect(monkeypatch)
    return stripe_fake


@pytest.fixture
def states() -> OAuthStateStore:
    return OAuthStateStore(get_engine())


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=build_routes()), client=LOOPBACK_CLIENT)


def start_flow(client: TestClient) -> str:
    """Follow the app's start route as a browser would; the state the cookie holds."""
    response = client.get("/api/auth/stripe", follow_redirects=False)
    assert response.status_code == 302
    return response.cookies[STATE_COOKIE]


def finish(
    store: CredentialsStore,
    states: OAuthStateStore,
    callback: OAuthCallback,
    cookie_state: str | None,
) -> tuple[bool, str]:
    settings = lib.config.get_settings()
    with StripeAdapter(base_url=settings.stripe_api_base, retry=NO_RETRY) as adapter:
        outcome = connect_with_stripe_oauth(
            store, states, "local", settings, callback, cookie_state, adapter
        )
    return outcome.ok, outcome.message


def save_oauth_connection(store: CredentialsStore) -> None:
    credentials = ProviderCredentials(
        pat=ACCESS_TOKEN, auth_method="oauth", account_id=ACCOUNT_ID, livemode=False
    )
    store.save(
        "local", "stripe", credentials, ConnectionInfo(account_id=ACCOUNT_ID, auth_method="oauth")
    )


def test_start_route_redirects_to_stripe_with_every_parameter_and_a_browser_bound_state(
    stripe_fake: LoopbackServer, client: TestClient
) -> None:
    response = client.get("/api/auth/stripe", follow_redirects=False)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        stripe_fake.url + "/oauth/authorize"
    )
    state = query.pop("state")
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "scope": "read_write",
        "redirect_uri": f"{APP_URL}/credentials",
    }
    cookie = SimpleCookie(response.headers["set-cookie"])[STATE_COOKIE]
    assert cookie.value == state
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert (cookie["path"], cookie["max-age"], cookie["secure"]) == ("/", "600", "")
    with get_engine().connect() as connection:
        stored = connection.execute(sa.select(oauth_states.c.state_hash)).scalars().all()
    assert stored == [hashlib.sha256(state.encode()).hexdigest()]


def test_start_route_marks_the_cookie_secure_when_the_app_is_served_over_https(
    stripe_fake: LoopbackServer, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_URL", "https://dash.example.com")
    lib.config.get_settings.cache_clear()

    response = client.get("/api/auth/stripe", follow_redirects=False)

    cookie = SimpleCookie(response.headers["set-cookie"])[STATE_COOKIE]
    assert cookie["secure"] is True
    assert (
        "redirect_uri=https%3A%2F%2Fdash.example.com%2Fcredentials"
        in (response.headers["location"])
    )


def test_without_app_url_stripe_returns_the_browser_to_the_address_it_started_from(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_URL")
    lib.config.get_settings.cache_clear()
    browser = TestClient(
        Starlette(routes=build_routes()),
        base_url="https://dash.example.com",
        client=LOOPBACK_CLIENT,  # local mode: only this computer may connect an account
    )

    response = browser.get("/api/auth/stripe", follow_redirects=False)

    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["redirect_uri"] == ["https://dash.example.com/credentials"]
    assert SimpleCookie(response.headers["set-cookie"])[STATE_COOKIE]["secure"] is True


@pytest.mark.parametrize("missing", ["STRIPE_CLIENT_ID", "STRIPE_SECRET_KEY"])
def test_start_route_answers_404_when_oauth_is_not_configured(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(missing)
    lib.config.get_settings.cache_clear()
    from app import app

    response = TestClient(app, client=LOOPBACK_CLIENT).get(
        "/api/auth/stripe", follow_redirects=False
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Stripe OAuth not configured"}
    assert "set-cookie" not in response.headers


def test_the_real_app_serves_the_start_route(stripe_fake: LoopbackServer) -> None:
    from app import app

    response = TestClient(app, client=LOOPBACK_CLIENT).get(
        "/api/auth/stripe", follow_redirects=False
    )

    assert response.status_code == 302
    assert response.headers["location"].startswith(stripe_fake.url + "/oauth/authorize?")


def test_good_code_stores_every_token_field_encrypted_with_the_account_id(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
) -> None:
    stripe_fake.queue("/oauth/token", Reply(json=TOKEN_ANSWER))
    stripe_fake.queue("/v1/account", Reply(json=ACCOUNT_ANSWER))
    state = start_flow(client)

    ok, message = finish(store, states, OAuthCallback(code="ac_good", state=state), state)

    assert ok, message
    assert message == f"Connected Stripe account Rocket Rides ({ACCOUNT_ID}, test mode)."
    token_request = dict(stripe_fake.requests_to("/oauth/token")[0].form())
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["code"] == "ac_good"
    assert token_request["client_secret"] == PLATFORM_KEY
    account_request = stripe_fake.requests_to("/v1/account")[0]
    assert account_request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    stored = store.get("local", "stripe")
    assert stored is not None
    credentials = stored.credentials
    assert credentials.token() == ACCESS_TOKEN
    assert credentials.refresh_token is not None
    assert credentials.refresh_token.get_secret_value() == REFRESH_TOKEN
    assert (credentials.auth_method, credentials.account_id) == ("oauth", ACCOUNT_ID)
    assert credentials.publishable_key == TOKEN_ANSWER["stripe_publishable_key"]
    assert (credentials.scope, credentials.livemode) == ("read_write", False)
    assert (stored.account_ref, stored.info.account_name, stored.info.mode) == (
        ACCOUNT_ID,
        "Rocket Rides",
        "test",
    )
    with get_engine().connect() as connection:
        row = connection.execute(sa.select(user_credentials)).mappings().one()
    raw = " ".join(str(value) for value in row.values())
    assert ACCESS_TOKEN not in raw and REFRESH_TOKEN not in raw and "sk_" not in raw


def test_connection_is_saved_even_when_the_account_name_cannot_be_read(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
) -> None:
    stripe_fake.queue("/oauth/token", Reply(json={**TOKEN_ANSWER, "livemode": True}))
    stripe_fake.on("/v1/account", lambda request: Reply(status=503))
    state = start_flow(client)

    ok, message = finish(store, states, OAuthCallback(code="ac_good", state=state), state)

    assert ok, message
    stored = store.get("local", "stripe")
    assert stored is not None
    assert (stored.info.account_id, stored.info.mode) == (ACCOUNT_ID, "live")


def test_an_error_on_the_redirect_is_shown_in_plain_words_and_nothing_is_stored(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
) -> None:
    state = start_flow(client)
    callback = OAuthCallback(
        state=state, error="access_denied", error_description="The user denied your request"
    )

    ok, message = finish(store, states, callback, state)

    assert not ok
    assert "cancelled on Stripe" in message
    assert "The user denied your request" in message
    assert stripe_fake.requests_to("/oauth/token") == []
    assert store.get("local", "stripe") is None


def test_a_refused_code_is_explained_and_nothing_is_stored(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
) -> None:
    stripe_fake.queue(
        "/oauth/token",
        Reply(
            status=400,
            json={
                "error": "invalid_grant",
                "error_description": "Authorization code expired: ac_old.",
            },
        ),
    )
    state = start_flow(client)

    ok, message = finish(store, states, OAuthCallback(code="ac_old", state=state), state)

    assert not ok
    assert "expired or was already used" in message
    assert "Authorization code expired: ac_old." in message
    assert PLATFORM_KEY not in message
    assert store.get("local", "stripe") is None


def test_an_unreachable_token_endpoint_is_explained_and_nothing_is_stored(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = start_flow(client)
    monkeypatch.setenv("STRIPE_CONNECT_BASE", unused_url())
    lib.config.get_settings.cache_clear()

    ok, message = finish(store, states, OAuthCallback(code="ac_good", state=state), state)

    assert not ok
    assert "Could not reach Stripe" in message
    assert store.get("local", "stripe") is None


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "carries no state"),
        ("no cookie", "did not start this Stripe connection"),
        ("mismatched", "another browser or window"),
        ("unknown", "does not match any connection started here"),
        ("expired", "has expired"),
        ("reused", "already used"),
    ],
)
def test_a_bad_state_is_refused_and_nothing_is_stored(
    stripe_fake: LoopbackServer,
    client: TestClient,
    store: CredentialsStore,
    states: OAuthStateStore,
    case: str,
    expected: str,
) -> None:
    stripe_fake.on("/oauth/token", lambda request: Reply(json=TOKEN_ANSWER))
    stripe_fake.on("/v1/account", lambda request: Reply(json=ACCOUNT_ANSWER))
    state = start_flow(client)
    param, cookie = {
        "missing": (None, state),
        "no cookie": (state, None),
        "mismatched": (state, start_flow(client)),
        "unknown": ("never-issued-state", "never-issued-state"),
        "expired": (states.create("stripe", "local", ttl_seconds=0),) * 2,
        "reused": (state, state),
    }[case]
    if case == "reused":
        assert finish(store, states, OAuthCallback(code="ac_1", state=state), state)[0]
        store.delete("local", "stripe")

    ok, message = finish(store, states, OAuthCallback(code="ac_2", state=param), cookie)

    assert not ok
    assert expected in message
    assert "Nothing was saved" in message
    assert store.get("local", "stripe") is None
    exchanged = [
        dict(request.form())["code"] for request in stripe_fake.requests_to("/oauth/token")
    ]
    assert exchanged == (["ac_1"] if case == "reused" else [])


def test_disconnect_deauthorizes_at_stripe_then_deletes_the_row(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    stripe_fake.queue("/oauth/deauthorize", Reply(json={"stripe_user_id": ACCOUNT_ID}))
    save_oauth_connection(store)

    outcome = disconnect(store, "local", "stripe", lib.config.get_settings())

    assert outcome.removed, outcome.message
    request = stripe_fake.requests_to("/oauth/deauthorize")[0]
    assert dict(request.form()) == {"client_id": CLIENT_ID, "stripe_user_id": ACCOUNT_ID}
    expected_auth = base64.b64encode(f"{PLATFORM_KEY}:".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    assert store.get("local", "stripe") is None


def test_a_failed_deauthorize_keeps_the_row_until_the_user_confirms(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    stripe_fake.queue(
        "/oauth/deauthorize",
        Reply(
            status=401,
            json={"error": "invalid_client", "error_description": "No such application"},
        ),
    )
    save_oauth_connection(store)
    settings = lib.config.get_settings()

    refused = disconnect(store, "local", "stripe", settings)

    assert not refused.removed and refused.can_remove_anyway
    assert "did not disconnect" in refused.message
    assert "No such application" in refused.message
    assert store.get("local", "stripe") is not None

    confirmed = disconnect(store, "local", "stripe", settings, force=True)

    assert confirmed.removed
    assert store.get("local", "stripe") is None
    assert len(stripe_fake.requests_to("/oauth/deauthorize")) == 1
