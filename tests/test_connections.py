"""Connecting by key, testing and disconnecting, against a fake Stripe API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import lib.config
from lib.accounts import resolve_stripe_account
from lib.connections import (
    check_stored_connection,
    connect_with_key,
    credentials_from_fields,
    disconnect,
)
from lib.providers import ProviderCredentials, RetryPolicy, StripeAdapter, TwilioAdapter
from lib.store import ConnectionInfo, CredentialsStore, get_engine
from lib.store.tables import user_credentials
from tests.credentials_support import GOOD_KEY
from tests.loopback_server import LoopbackServer, Reply

ACCOUNT = {
    "id": "acct_1Dashboard",
    "email": "owner@rocketrides.example",
    "business_profile": {"name": "Rocket Rides"},
}
UNAUTHORIZED = Reply(
    status=401,
    json={"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
)


@pytest.fixture
def stripe_api() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def adapter(stripe_api: LoopbackServer) -> Iterator[StripeAdapter]:
    retry = RetryPolicy(max_attempts=2, base_delay=0)
    with StripeAdapter(base_url=stripe_api.url + "/v1", retry=retry) as stripe:
        yield stripe


def test_a_good_key_is_tested_then_saved_masked_with_its_account_and_mode(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    stripe_api.queue("/v1/account", Reply(json=ACCOUNT))
    credentials = credentials_from_fields({"pat": f"  {GOOD_KEY}\n"})

    outcome = connect_with_key(store, "local", "stripe", credentials, adapter)

    assert outcome.ok, outcome.message
    assert outcome.message == "Connected Stripe: Rocket Rides (acct_1Dashboard, test mode)."
    assert stripe_api.requests[0].headers["Authorization"] == f"Bearer {GOOD_KEY}"
    stored = store.get("local", "stripe")
    assert stored is not None
    assert stored.credentials.token() == GOOD_KEY
    assert (stored.info.masked_key, stored.info.mode, stored.info.account_id) == (
        "sk_test_...4242",
        "test",
        "acct_1Dashboard",
    )
    assert GOOD_KEY not in repr(outcome)


def test_a_key_stripe_rejects_is_not_saved(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    stripe_api.queue("/v1/account", UNAUTHORIZED)

    outcome = connect_with_key(store, "local", "stripe", ProviderCredentials(pat=GOOD_KEY), adapter)

    assert not outcome.ok
    assert outcome.message.startswith("Not saved. Stripe rejected the API key")
    assert GOOD_KEY not in outcome.message
    assert store.get("local", "stripe") is None


def test_a_publishable_key_is_refused_without_asking_stripe(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    credentials = ProviderCredentials(pat="pk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242")

    outcome = connect_with_key(store, "local", "stripe", credentials, adapter)

    assert not outcome.ok
    assert "publishable key" in outcome.message
    assert stripe_api.requests == []
    assert store.get("local", "stripe") is None


def test_every_field_a_provider_needs_is_asked_for_before_any_request(
    stripe_api: LoopbackServer, store: CredentialsStore
) -> None:
    credentials = credentials_from_fields({"account_id": " ", "pat": "token"})

    with TwilioAdapter(base_url=stripe_api.url) as twilio:
        outcome = connect_with_key(store, "local", "twilio", credentials, twilio)

    assert (outcome.ok, outcome.message) == (False, "Fill in “Account SID” to connect Twilio.")
    assert stripe_api.requests == []


def test_a_stored_key_that_starts_failing_with_401_asks_for_reconnection_until_it_works(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    stripe_api.queue("/v1/account", Reply(json=ACCOUNT), UNAUTHORIZED, Reply(json=ACCOUNT))
    connect_with_key(store, "local", "stripe", ProviderCredentials(pat=GOOD_KEY), adapter)
    settings = lib.config.get_settings()

    failed = check_stored_connection(store, "local", "stripe", adapter)

    assert not failed.ok
    assert "needs to be reconnected" in failed.message
    account = resolve_stripe_account(settings, "local", store)
    assert account.needs_reconnect
    assert account.problem is not None and "rejected the API key" in account.problem

    works = check_stored_connection(store, "local", "stripe", adapter)

    assert works.ok, works.message
    assert not resolve_stripe_account(settings, "local", store).needs_reconnect


def test_a_network_failure_while_testing_leaves_the_connection_as_it_was(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    stripe_api.queue("/v1/account", Reply(json=ACCOUNT))
    stripe_api.on("/v1/account", lambda request: Reply(status=503))
    connect_with_key(store, "local", "stripe", ProviderCredentials(pat=GOOD_KEY), adapter)

    outcome = check_stored_connection(store, "local", "stripe", adapter)

    assert not outcome.ok
    stored = store.get("local", "stripe")
    assert stored is not None and stored.status == "connected"


def test_disconnecting_a_pasted_key_deletes_it_without_calling_stripe(
    stripe_api: LoopbackServer, adapter: StripeAdapter, store: CredentialsStore
) -> None:
    stripe_api.queue("/v1/account", Reply(json=ACCOUNT))
    connect_with_key(store, "local", "stripe", ProviderCredentials(pat=GOOD_KEY), adapter)

    outcome = disconnect(store, "local", "stripe", lib.config.get_settings())

    assert outcome.removed, outcome.message
    assert store.get("local", "stripe") is None
    assert [request.path for request in stripe_api.requests] == ["/v1/account"]


def test_a_connection_that_cannot_be_decrypted_can_still_be_removed(
    store: CredentialsStore,
) -> None:
    store.save("local", "stripe", ProviderCredentials(pat=GOOD_KEY), ConnectionInfo())
    with get_engine().begin() as connection:
        connection.execute(sa.update(user_credentials).values(credentials="not-a-fernet-token"))

    outcome = disconnect(store, "local", "stripe", lib.config.get_settings())

    assert outcome.removed
    assert store.list_connections("local") == []
