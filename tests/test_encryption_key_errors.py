"""A malformed or wrong APP_ENCRYPTION_KEY while a Stripe connection is stored: every page says
what is wrong with the key and where it was read from, and no other account's data is shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

import lib.config
from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox, get_engine
from tests.apptest_support import run_app, shown_text
from tests.loopback_server import LoopbackServer, Reply

CONFIGURED_KEY = "sk_test_51ConfiguredAccountKey00000000"
MALFORMED = "not-a-fernet-key"
LEAK_CUSTOMER = "cus_OtherAccountCustomer"
CHARGES = {
    "object": "list",
    "has_more": False,
    "data": [
        {
            "id": "ch_OtherAccount",
            "object": "charge",
            "amount": 424242,
            "currency": "usd",
            "customer": LEAK_CUSTOMER,
            "status": "succeeded",
            "created": 1_790_000_000,
            "description": "Other account's charge",
        }
    ],
}


@pytest.fixture
def configured_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """STRIPE_SECRET_KEY's account, served on loopback, and a stored connection saved with a key
    the app no longer has."""
    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", lambda _request: Reply(json=CHARGES))
        stripe.on("/v1/customers", lambda _request: Reply(json={**CHARGES, "data": []}))
        monkeypatch.setenv("STRIPE_SECRET_KEY", CONFIGURED_KEY)
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        lib.config.get_settings.cache_clear()
        CredentialsStore(get_engine(), SecretBox([Fernet.generate_key()])).save(
            "local",
            "stripe",
            ProviderCredentials(pat="sk_test_51StoredConnection000000000"),
            ConnectionInfo(account_id="acct_1Stored", account_name="Stored Ltd", mode="test"),
        )
        yield stripe


@pytest.fixture
def malformed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """APP_ENCRYPTION_KEY is set to a value that is no Fernet key."""
    monkeypatch.setenv("APP_ENCRYPTION_KEY", MALFORMED)
    lib.config.get_settings.cache_clear()


@pytest.fixture
def another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """APP_ENCRYPTION_KEY is a valid Fernet key, but not the one the connection was saved with."""
    monkeypatch.setenv("APP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    lib.config.get_settings.cache_clear()


def assert_no_other_account_shown(app: AppTest, stripe: LoopbackServer) -> None:
    texts = shown_text(app)
    assert not app.exception
    assert not any(LEAK_CUSTOMER in text or "4,242.42" in text for text in texts)
    assert not any("Demo data" in text for text in texts)
    assert stripe.requests == [], "the configured key's account was asked for data"


def test_a_malformed_key_is_named_on_the_dashboard_and_no_other_account_is_shown(
    configured_account: LoopbackServer, malformed_key: None
) -> None:
    app = run_app()

    errors = [text for text in shown_text(app) if "Stored Stripe connections cannot" in text]
    assert len(errors) == 1
    assert (
        "APP_ENCRYPTION_KEY (from the environment) is not a usable Fernet key: it decodes to "
        "12 bytes where a Fernet key has 32" in errors[0]
    )
    assert not any(MALFORMED in text for text in shown_text(app))
    assert_no_other_account_shown(app, configured_account)


def test_a_malformed_key_is_named_on_the_credentials_page_instead_of_blaming_the_database(
    configured_account: LoopbackServer, malformed_key: None
) -> None:
    app = run_app("app_pages/credentials.py")

    errors = [error.value for error in app.error]
    page_error = [text for text in shown_text(app) if "can be neither shown nor saved" in text]
    assert (
        page_error and "the encryption key for stored credentials cannot be used" in (page_error[0])
    )
    assert "APP_ENCRYPTION_KEY (from the environment) is not a usable Fernet key" in page_error[0]
    assert not any("DATABASE_URL" in error for error in errors)
    assert_no_other_account_shown(app, configured_account)


def test_a_malformed_key_shows_no_other_accounts_charges_on_the_charges_page(
    configured_account: LoopbackServer, malformed_key: None
) -> None:
    # AppTest runs a switched-to page without app.py's banner; the page must still hold back.
    app = run_app("app_pages/charges.py")

    assert_no_other_account_shown(app, configured_account)


def test_a_valid_key_that_did_not_encrypt_the_connection_is_named_on_the_dashboard(
    configured_account: LoopbackServer, another_key: None
) -> None:
    app = run_app()

    assert any(
        "cannot decrypt stored credentials: they were saved with a different encryption key "
        "than APP_ENCRYPTION_KEY (from the environment)" in text
        for text in shown_text(app)
    )
    assert_no_other_account_shown(app, configured_account)


def test_a_valid_key_that_did_not_encrypt_the_connection_is_named_on_the_credentials_page(
    configured_account: LoopbackServer, another_key: None
) -> None:
    app = run_app("app_pages/credentials.py")

    card_errors = [text for text in shown_text(app) if "Remove this connection" in text]
    assert card_errors
    assert "than APP_ENCRYPTION_KEY (from the environment)" in card_errors[0]
    assert any(button.label == "Remove" for button in app.button)
    assert_no_other_account_shown(app, configured_account)
