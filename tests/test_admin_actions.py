"""Admin actions in Streamlit's AppTest: viewers never see the controls, and an action tried
without the role (a rerun carrying a click the session may no longer make, the OAuth answer in
a query string) is refused where it happens and recorded; what admins do is recorded too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lib.render.client
from lib.config import PROJECT_ROOT
from lib.render.session import _BUS_KEY
from lib.store import CredentialsStore, OAuthStateStore, get_engine
from lib.webhooks.events_store import new_event, store_event
from tests.apptest_support import select_row, shown_text, table, unescape
from tests.credentials_support import (
    ACCOUNT,
    GOOD_KEY,
    offer_stripe_connect,
    save_pasted_key,
)
from tests.loopback_server import LoopbackServer, Reply
from tests.sign_in_support import ADMIN, VIEWER, audit_rows, configure_sign_in, signed_in

PAGES = PROJECT_ROOT / "app_pages"
REFUSED = "Only admins can do this, so nothing was changed. The attempt was recorded."


@pytest.fixture
def sign_in_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure_sign_in(monkeypatch, tmp_path)


def open_page(name: str, user: dict[str, object] | None = None) -> AppTest:
    app = AppTest.from_file(str(PAGES / name), default_timeout=60)
    if user is not None:
        app.user = user
    return app.run()


def errors(app: AppTest) -> list[str]:
    return [unescape(element.value) for element in app.error]


def test_a_viewer_sees_the_connection_but_no_control_that_changes_it(
    sign_in_on: None, store: CredentialsStore, stripe_fake: LoopbackServer
) -> None:
    save_pasted_key(store)

    app = open_page("credentials.py", signed_in(VIEWER))

    assert not app.exception
    card = "\n".join(unescape(element.value) for element in app.markdown)
    assert "**Account id:** acct_1Dashboard" in card
    assert "Only admins can connect, test or disconnect accounts." in shown_text(app)
    assert not app.button and not app.text_input and not app.get("link_button")
    assert not app.get("form")


def test_a_click_the_session_may_no_longer_make_is_refused_and_recorded(
    sign_in_on: None, store: CredentialsStore, stripe_fake: LoopbackServer
) -> None:
    save_pasted_key(store)
    app = open_page("credentials.py", signed_in(ADMIN))
    app.button(key="disconnect_stripe").click().run()

    app.user = signed_in(VIEWER)
    app.button(key="confirm_disconnect_stripe").click().run()

    assert not app.exception
    assert REFUSED in errors(app)
    assert store.get("local", "stripe") is not None
    [entry] = audit_rows()
    assert (entry.actor, entry.role, entry.action, entry.result, entry.account) == (
        VIEWER,
        "viewer",
        "credentials.disconnect",
        "refused",
        "Stripe acct_1Dashboard",
    )
    assert stripe_fake.requests == []


def test_a_pasted_key_submitted_without_the_role_is_not_even_tried(
    sign_in_on: None, store: CredentialsStore, stripe_fake: LoopbackServer
) -> None:
    app = open_page("credentials.py", signed_in(ADMIN))
    app.user = signed_in(VIEWER)

    app.text_input(key="key_stripe_pat").input(GOOD_KEY)
    app.button(key="save_stripe").click().run()

    assert REFUSED in errors(app)
    assert store.get("local", "stripe") is None
    assert stripe_fake.requests == []
    assert [(e.action, e.result) for e in audit_rows()] == [("credentials.connect_key", "refused")]


def test_an_admin_connecting_is_recorded_and_the_connection_says_who_made_it(
    sign_in_on: None, store: CredentialsStore, stripe_fake: LoopbackServer
) -> None:
    stripe_fake.queue("/v1/account", Reply(json=ACCOUNT))
    app = open_page("credentials.py", signed_in(ADMIN))

    app.text_input(key="key_stripe_pat").input(GOOD_KEY)
    app.button(key="save_stripe").click().run()

    assert not app.exception
    stored = store.get("local", "stripe")
    assert stored is not None and stored.info.connected_by == ADMIN
    card = "\n".join(unescape(element.value) for element in app.markdown)
    assert f"**Connected by:** {ADMIN}" in card
    [entry] = audit_rows()
    assert (entry.actor, entry.action, entry.result, entry.account) == (
        ADMIN,
        "credentials.connect_key",
        "succeeded",
        "Stripe acct_1Dashboard",
    )
    assert entry.detail == "Connected Stripe: Rocket Rides (acct_1Dashboard, test mode)."
    assert GOOD_KEY not in str(entry)


def test_the_oauth_answer_in_a_viewers_url_is_refused_and_recorded(
    sign_in_on: None,
    store: CredentialsStore,
    stripe_fake: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offer_stripe_connect(monkeypatch)
    state = OAuthStateStore(get_engine()).create("stripe", VIEWER)
    app = AppTest.from_file(str(PAGES / "credentials.py"), default_timeout=60)
    app.user = signed_in(VIEWER)
    app.query_params["code"] = "ac_crafted"
    app.query_params["state"] = state

    app.run()

    assert not app.exception
    assert REFUSED in errors(app)
    assert dict(app.query_params) == {}
    assert stripe_fake.requests_to("/oauth/token") == []
    assert store.get("local", "stripe") is None
    assert [(e.actor, e.action, e.result) for e in audit_rows()] == [
        (VIEWER, "credentials.connect_finish", "refused")
    ]


def test_viewers_get_no_sync_replay_or_audit_controls(sign_in_on: None) -> None:
    charges = open_page("charges.py", signed_in(VIEWER))
    webhooks = open_page("webhooks.py", signed_in(VIEWER))
    audit = open_page("audit_log.py", signed_in(VIEWER))

    assert not charges.exception and not webhooks.exception and not audit.exception
    assert not [b for b in charges.button if b.label in ("Sync now", "Resume sync", "Cancel sync")]
    assert not [b for b in webhooks.button if b.label in ("Sync now", "Replay into the mesh")]
    assert "Admins can catch up from here with Sync now." in shown_text(webhooks)
    assert errors(audit) == [REFUSED]
    assert not audit.dataframe and not audit.get("download_button")
    assert [(e.actor, e.action, e.result) for e in audit_rows()] == [
        (VIEWER, "audit.view", "refused")
    ]


def test_an_admin_starting_a_sync_is_recorded(sign_in_on: None) -> None:
    app = open_page("charges.py", signed_in(ADMIN))

    app.button(key="mirror-sync-start").click().run()

    assert not app.exception
    assert [(e.actor, e.action, e.result, e.account) for e in audit_rows()] == [
        (ADMIN, "mirror.sync", "succeeded", "Demo data")
    ]


def test_the_audit_page_lists_filters_and_offers_the_export(sign_in_on: None) -> None:
    open_page("audit_log.py", signed_in(VIEWER))
    app = open_page("audit_log.py", signed_in(ADMIN))

    assert not app.exception
    [table] = app.dataframe
    assert list(table.value["Who"]) == [ADMIN, VIEWER]
    assert list(table.value["Result"]) == ["Succeeded", "Refused"]
    [result] = [box for box in app.selectbox if box.label == "Result"]
    result.select("refused").run()
    [table] = app.dataframe
    assert list(table.value["Who"]) == [VIEWER]
    assert list(table.value["Action"]) == ["Open the audit log"]
    [export] = app.get("download_button")
    assert export.proto.label == "Export 1 entries to CSV"


def test_in_local_mode_a_remote_visitor_reads_only_and_a_crafted_click_is_refused(
    store: CredentialsStore, stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_pasted_key(store)
    app = open_page("credentials.py")
    app.button(key="test_stripe").click()
    monkeypatch.setattr(lib.render.client, "client_address", lambda: "203.0.113.9")

    app.run()

    assert not app.exception
    assert any("only be made from the computer this dashboard runs on" in e for e in errors(app))
    assert not app.button
    [entry] = audit_rows()
    assert (entry.actor, entry.client_address, entry.action, entry.result) == (
        "remote visitor",
        "203.0.113.9",
        "credentials.test",
        "refused",
    )


def test_replaying_a_stored_server_event_is_an_admins_action(sign_in_on: None) -> None:
    delivered = {
        "id": "evt_server_1",
        "type": "charge.succeeded",
        "created": 1_790_000_000,
        "data": {"object": {"id": "ch_server", "amount": 1500, "currency": "eur"}},
    }
    store_event(get_engine(), new_event(delivered, json.dumps(delivered), "webhook"))
    app = open_page("event_debugger.py", signed_in(ADMIN))
    names = list(table(app, "debugger-events-").value["Event"])
    select_row(app, "debugger-events-", names.index("stripe.payment.received"))
    [replay] = [b.key for b in app.button if (b.key or "").startswith("debugger-replay-")]

    app.user = signed_in(VIEWER)
    app.button(key=replay).click().run()

    assert not app.exception
    assert REFUSED in errors(app)
    assert app.session_state[_BUS_KEY].log() == []
    assert not [button for button in app.button if button.key == replay]
    assert [(e.actor, e.action, e.result) for e in audit_rows()] == [
        (VIEWER, "events.replay", "refused")
    ]
