"""The Credentials page in Streamlit's AppTest, against a fake Stripe (API and Connect) on
loopback: paste a key, connect through the OAuth redirect, disconnect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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
from tests.apptest_support import unescape
from tests.loopback_server import LoopbackServer, Reply

PAGE = Path(__file__).resolve().parent.parent / "pages" / "credentials.py"
GOOD_KEY = "sk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242"
ACCOUNT = {"id": "acct_1Dashboard", "business_profile": {"name": "Rocket Rides"}}


@pytest.fixture
def stripe_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        monkeypatch.setenv("STRIPE_API_BASE", server.url + "/v1")
        monkeypatch.setenv("STRIPE_CONNECT_BASE", server.url)
        lib.config.get_settings.cache_clear()
        yield server


@pytest.fixture
def store(stripe_fake: LoopbackServer) -> CredentialsStore:
    box, _ = load_secret_box(lib.config.get_settings())
    return CredentialsStore(get_engine(), box)


def open_page() -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=30).run()


def texts(elements: object) -> list[str]:
    """The elements' text as read on screen (backslash escapes removed)."""
    return [unescape(element.value) for element in elements]  # type: ignore[attr-defined]


def test_pasting_a_good_key_connects_and_shows_it_masked_with_its_mode(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    stripe_fake.queue("/v1/account", Reply(json=ACCOUNT))
    at = open_page()
    assert any("Stripe OAuth not configured" in notice for notice in texts(at.info))

    at.text_input(key="key_stripe_pat").input(GOOD_KEY)
    at.button(key="save_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == ["Connected Stripe: Rocket Rides (acct_1Dashboard, test mode)."]
    card = "\n".join(texts(at.markdown))
    assert "**Key:** sk_test_...4242" in card and "**Mode:** test" in card
    assert GOOD_KEY not in card
    assert at.text_input(key="key_stripe_pat").value == ""
    assert store.get("local", "stripe") is not None


def test_pasting_a_rejected_key_says_so_and_saves_nothing(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    stripe_fake.queue(
        "/v1/account",
        Reply(status=401, json={"error": {"message": "Invalid API Key provided"}}),
    )
    at = open_page()

    at.text_input(key="key_stripe_pat").input(GOOD_KEY)
    at.button(key="save_stripe").click().run()

    assert not at.exception
    assert any("Not saved. Stripe rejected the API key" in text for text in texts(at.error))
    assert store.get("local", "stripe") is None


def test_returning_from_stripe_connect_saves_the_account_and_clears_the_url(
    stripe_fake: LoopbackServer, store: CredentialsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_CLIENT_ID", "ca_FkyHCg7X8mlvCUdMDao4mMxagUfhIwXb")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_51PlatformKeyAbCdEfGhIjKlMn0001")
    lib.config.get_settings.cache_clear()
    state = OAuthStateStore(get_engine()).create("stripe", "browser")
    monkeypatch.setattr(
        lib.render.cookies, "read_cookie", lambda name: state if name == STATE_COOKIE else None
    )
    stripe_fake.queue(
        "/oauth/token",
        Reply(
            json={
                "access_token": "sk_test_51ConnectedAccessTokenQrStUvWx9876",
                "refresh_token": "rt_ConnectedRefreshTokenYzAbCdEfGh5432",
                "stripe_user_id": "acct_1Dashboard",
                "stripe_publishable_key": "pk_test_51Connected",
                "scope": "read_write",
                "livemode": False,
                "token_type": "bearer",
            }
        ),
    )
    stripe_fake.queue("/v1/account", Reply(json=ACCOUNT))
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.query_params["code"] = "ac_good"
    at.query_params["state"] = state

    at.run()

    assert not at.exception
    assert texts(at.success) == [
        "Connected Stripe account Rocket Rides (acct_1Dashboard, test mode)."
    ]
    assert dict(at.query_params) == {}
    stored = store.get("local", "stripe")
    assert stored is not None and stored.account_ref == "acct_1Dashboard"
    assert any(button.label == "Connect with Stripe" for button in at.get("link_button"))


def test_disconnect_removes_the_stored_key(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    store.save(
        "local",
        "stripe",
        ProviderCredentials(pat=GOOD_KEY),
        ConnectionInfo(masked_key="sk_test_...4242", account_id="acct_1Dashboard", mode="test"),
    )
    at = open_page()

    at.button(key="disconnect_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == ["Disconnected Stripe; its credentials were deleted."]
    assert store.get("local", "stripe") is None
    assert stripe_fake.requests == []


def test_the_page_says_where_the_generated_encryption_key_is(
    stripe_fake: LoopbackServer, isolated_settings: Path
) -> None:
    page = open_page()

    notices = texts(page.info)
    key_file = isolated_settings / "encryption.key"
    assert key_file.is_file()
    assert any(str(key_file) in notice and "APP_ENCRYPTION_KEY" in notice for notice in notices)


def test_no_key_notice_when_the_key_comes_from_the_environment(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("APP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    lib.config.get_settings.cache_clear()

    page = open_page()

    assert not any("encryption.key" in notice for notice in texts(page.info))
