"""Stored credentials and Stripe Connect as the tests set them up: keys and answers shaped like
Stripe's, the credentials store the pages use, and the settings that point the app at a
LoopbackServer standing in for Stripe (API and Connect)."""

from __future__ import annotations

import pytest

import lib.config
import lib.render.cookies
from lib.oauth.stripe_connect import STATE_COOKIE
from lib.providers import ProviderCredentials
from lib.store import (
    ConnectionInfo,
    CredentialsStore,
    OAuthStateStore,
    get_engine,
    load_secret_box,
)
from tests.loopback_server import LoopbackServer

GOOD_KEY = "sk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242"
ACCOUNT = {"id": "acct_1Dashboard", "business_profile": {"name": "Rocket Rides"}}
CLIENT_ID = "ca_FkyHCg7X8mlvCUdMDao4mMxagUfhIwXb"
PLATFORM_KEY = "sk_test_51PlatformKeyAbCdEfGhIjKlMn0001"
ACCESS_TOKEN = "sk_test_51ConnectedAccessTokenQrStUvWx9876"
REFRESH_TOKEN = "rt_ConnectedRefreshTokenYzAbCdEfGh5432"


def app_credentials_store() -> CredentialsStore:
    """The store the pages read: the app's database and its encryption key."""
    box, _origin = load_secret_box(lib.config.get_settings())
    return CredentialsStore(get_engine(), box)


def point_at_fake_stripe(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer) -> None:
    """Send the app's Stripe API and Connect requests to `server`."""
    monkeypatch.setenv("STRIPE_API_BASE", server.url + "/v1")
    monkeypatch.setenv("STRIPE_CONNECT_BASE", server.url)
    lib.config.get_settings.cache_clear()


def offer_stripe_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configure Stripe Connect: a client id and the platform's secret key."""
    monkeypatch.setenv("STRIPE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("STRIPE_SECRET_KEY", PLATFORM_KEY)
    lib.config.get_settings.cache_clear()


def connect_state_in_browser(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Stripe Connect sign-in started in this browser: the stored state, which the browser's
    state cookie holds too."""
    state = OAuthStateStore(get_engine()).create("stripe", "browser")
    monkeypatch.setattr(
        lib.render.cookies, "read_cookie", lambda name: state if name == STATE_COOKIE else None
    )
    return state


def save_pasted_key(store: CredentialsStore) -> None:
    """The local user's Stripe connection made by pasting GOOD_KEY (account acct_1Dashboard)."""
    store.save(
        "local",
        "stripe",
        ProviderCredentials(pat=GOOD_KEY),
        ConnectionInfo(masked_key="sk_test_...4242", account_id="acct_1Dashboard", mode="test"),
    )
