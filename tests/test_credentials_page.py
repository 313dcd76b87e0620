"""The Credentials page in Streamlit's AppTest, against a fake Stripe (API and Connect) on
loopback: paste a key, connect through the OAuth redirect, disconnect."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

import lib.config
from lib.accounts import resolve_stripe_account
from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, get_engine
from lib.store.tables import mirror_charges, mirror_customers
from lib.sync import write_objects
from tests.apptest_support import unescape
from tests.credentials_support import (
    ACCESS_TOKEN,
    ACCOUNT,
    GOOD_KEY,
    REFRESH_TOKEN,
    connect_state_in_browser,
    offer_stripe_connect,
    save_pasted_key,
)
from tests.loopback_server import LoopbackServer, Reply

PAGE = Path(__file__).resolve().parent.parent / "app_pages" / "credentials.py"
DATA_KEPT = (
    "Disconnected Stripe; its credentials were deleted. This app's copy of its data was kept."
)


def open_page(browser_url: str | None = None) -> AppTest:
    """The page run once, as opened at `browser_url` (AppTest's default address when None)."""
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    if browser_url is not None:
        at.context["url"] = browser_url
    return at.run()


def paste_key(key: str) -> AppTest:
    """The page after `key` was pasted and "Test and save Stripe" clicked."""
    at = open_page()
    at.text_input(key="key_stripe_pat").input(key)
    at.button(key="save_stripe").click().run()
    return at


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
    at = paste_key(GOOD_KEY)

    assert not at.exception
    [rejected] = texts(at.error)
    assert rejected.startswith("Not saved. Stripe rejected the API key. Check the key")
    assert "reconnect" not in rejected.lower(), "a first connection has nothing to reconnect"
    assert store.get("local", "stripe") is None


@pytest.mark.parametrize("partial", ["sk_test_abc", "rk_live_51HqLyjWDarjtT1zdp7dc", "sk_test_a-b"])
def test_a_partial_key_is_refused_without_asking_stripe(
    stripe_fake: LoopbackServer, store: CredentialsStore, partial: str
) -> None:
    at = paste_key(partial)

    assert not at.exception
    [refused] = texts(at.error)
    assert refused.startswith("Not saved. That is not a complete Stripe key")
    assert partial[:8] in refused and partial not in refused
    assert stripe_fake.requests == []
    assert store.get("local", "stripe") is None


def test_returning_from_stripe_connect_saves_the_account_and_clears_the_url(
    stripe_fake: LoopbackServer, store: CredentialsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer_stripe_connect(monkeypatch)
    state = connect_state_in_browser(monkeypatch)
    stripe_fake.queue(
        "/oauth/token",
        Reply(
            json={
                "access_token": ACCESS_TOKEN,
                "refresh_token": REFRESH_TOKEN,
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


def mirrored_copy(store: CredentialsStore) -> str:
    """The stored connection's account key, after a customer and a charge were copied there."""
    key = resolve_stripe_account(lib.config.get_settings(), "local", store).key
    customer = {
        "id": "cus_Ada",
        "object": "customer",
        "created": 1_790_000_000,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
    }
    charge = {
        "id": "ch_Ada",
        "object": "charge",
        "created": 1_790_000_000,
        "amount": 1999,
        "currency": "usd",
        "status": "succeeded",
        "customer": "cus_Ada",
        "description": "Order for Ada",
        "livemode": False,
    }
    with get_engine().begin() as connection:
        write_objects(connection, key, "customers", [customer], 1_790_000_000)
        write_objects(connection, key, "charges", [charge], 1_790_000_000)
    return key


def copied_rows(account_key: str) -> int:
    with get_engine().connect() as connection:
        return sum(
            connection.execute(
                sa.select(sa.func.count()).where(table.c.account_key == account_key)
            ).scalar_one()
            for table in (mirror_customers, mirror_charges)
        )


@pytest.fixture
def copied_connection(stripe_fake: LoopbackServer, store: CredentialsStore) -> str:
    """A pasted-key connection whose account has a customer and a charge copied here; the
    copy's account key."""
    save_pasted_key(store)
    return mirrored_copy(store)


def test_disconnect_asks_first_and_deletes_the_key_and_the_copied_data(
    stripe_fake: LoopbackServer, store: CredentialsStore, copied_connection: str
) -> None:
    at = open_page()

    at.button(key="disconnect_stripe").click().run()

    assert store.get("local", "stripe") is not None, "nothing happens before the confirmation"
    [question] = [text for text in texts(at.warning) if "Disconnecting deletes" in text]
    assert "1 customer and 1 charge" in question
    assert "Stripe events stored about the account are deleted too" in question
    assert at.checkbox(key="keep_data_stripe").value is False
    at.button(key="confirm_disconnect_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == [
        "Disconnected Stripe; its credentials were deleted, and so was this app's copy of its "
        "data: 1 customer and 1 charge."
    ]
    assert store.get("local", "stripe") is None
    assert copied_rows(copied_connection) == 0
    assert stripe_fake.requests == []


def test_disconnect_keeps_the_copied_data_when_asked_to(
    store: CredentialsStore, copied_connection: str
) -> None:
    at = open_page()

    at.button(key="disconnect_stripe").click().run()
    at.checkbox(key="keep_data_stripe").check().run()
    at.button(key="confirm_disconnect_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == [DATA_KEPT]
    assert store.get("local", "stripe") is None
    assert copied_rows(copied_connection) == 2


def test_cancel_keeps_the_connection(stripe_fake: LoopbackServer, store: CredentialsStore) -> None:
    save_pasted_key(store)
    at = open_page()

    at.button(key="disconnect_stripe").click().run()
    at.button(key="cancel_disconnect_stripe").click().run()

    assert not [text for text in texts(at.warning) if "Disconnecting deletes" in text]
    assert store.get("local", "stripe") is not None


def test_the_page_says_where_the_generated_encryption_key_is_under_advanced_only(
    stripe_fake: LoopbackServer, isolated_settings: Path
) -> None:
    page = open_page()

    key_file = isolated_settings / "encryption.key"
    assert key_file.is_file()
    [advanced] = [expander for expander in page.expander if expander.label == "Advanced"]
    notices = texts(advanced.info)
    assert any(str(key_file) in notice and "APP_ENCRYPTION_KEY" in notice for notice in notices)
    outside = [
        unescape(element.value)
        for element in page.main
        if hasattr(element, "value") and isinstance(element.value, str)
    ]
    assert [text for text in outside if str(key_file) in text] == [notices[-1]]
    assert page.main.children[len(page.main.children) - 1].label == "Advanced"


def test_other_connections_follow_stripe_under_their_own_heading(
    stripe_fake: LoopbackServer,
) -> None:
    page = open_page()

    headings = [element.value for element in page.main if element.type in ("header", "subheader")]
    assert headings[:2] == ["Stripe", "Other connections"]
    assert sorted(headings[2:]) == [
        "GitHub",
        "Google Calendar",
        "Jira",
        "Linear",
        "Slack",
        "Twilio",
    ]


def test_without_app_url_the_addresses_for_stripe_come_from_the_browser_and_say_so(
    stripe_fake: LoopbackServer,
) -> None:
    at = open_page("https://dash.example.com/credentials")

    assert [code.value for code in at.code] == [
        "https://dash.example.com/api/webhooks/stripe",
        "https://dash.example.com/credentials",
    ]
    assert any(
        "Derived from the address in your browser; set APP_URL" in text
        for text in texts(at.caption)
    )


def test_with_app_url_the_addresses_for_stripe_use_it(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_URL", "https://pay.example.com/")
    lib.config.get_settings.cache_clear()
    at = open_page("http://10.0.0.7:8501/credentials")

    assert [code.value for code in at.code] == [
        "https://pay.example.com/api/webhooks/stripe",
        "https://pay.example.com/credentials",
    ]
    assert not any("Derived from the address" in text for text in texts(at.caption))


def test_stripe_connect_is_offered_only_when_it_is_configured(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page()

    assert at.get("link_button") == []
    [stripe_help] = [text for text in texts(at.caption) if "sk_test_" in text]
    assert "Connect" not in stripe_help

    offer_stripe_connect(monkeypatch)
    at = open_page("https://dash.example.com/credentials")

    [button] = at.get("link_button")
    assert button.proto.label == "Connect with Stripe"
    assert button.proto.url == "https://dash.example.com/api/auth/stripe"
    assert not any("OAuth not configured" in text for text in texts(at.info))


def test_no_key_notice_when_the_key_comes_from_the_environment(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("APP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    lib.config.get_settings.cache_clear()

    page = open_page()

    assert not any("encryption.key" in notice for notice in texts(page.info))


def test_remove_anyway_after_a_failed_revoke_still_honours_keep(
    stripe_fake: LoopbackServer, store: CredentialsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer_stripe_connect(monkeypatch)
    stripe_fake.queue(
        "/oauth/deauthorize",
        Reply(status=401, json={"error": "invalid_client", "error_description": "No such app"}),
    )
    store.save(
        "local",
        "stripe",
        ProviderCredentials(
            pat=ACCESS_TOKEN,
            auth_method="oauth",
            account_id="acct_1Dashboard",
        ),
        ConnectionInfo(account_id="acct_1Dashboard", mode="test", auth_method="oauth"),
    )
    copy_key = mirrored_copy(store)
    at = open_page()

    at.button(key="disconnect_stripe").click().run()
    at.checkbox(key="keep_data_stripe").check().run()
    at.button(key="confirm_disconnect_stripe").click().run()
    assert any("No such app" in text for text in texts(at.error))
    assert at.checkbox(key="keep_data_stripe").value is True
    at.button(key="remove_anyway_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == [DATA_KEPT]
    assert copied_rows(copy_key) == 2


def test_testing_a_connection_asks_stripe_and_says_it_works(
    stripe_fake: LoopbackServer, store: CredentialsStore
) -> None:
    save_pasted_key(store)
    stripe_fake.queue("/v1/account", Reply(json=ACCOUNT))
    at = open_page()

    at.button(key="test_stripe").click().run()

    assert not at.exception
    assert texts(at.success) == [
        "The Stripe connection works: Rocket Rides (acct_1Dashboard, test mode)."
    ]
    [request] = stripe_fake.requests_to("/v1/account")
    assert request.headers["Authorization"] == f"Bearer {GOOD_KEY}"
