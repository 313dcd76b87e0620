"""Disconnecting Stripe deletes this app's copy of that account (mirror, cursors, stored events)
and nothing of any other account; "keep" keeps it. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

import lib.config
from lib.accounts import resolve_stripe_account, settings_account
from lib.connections import disconnect, local_copy_of
from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox
from lib.store.tables import (
    metadata,
    mirror_charges,
    mirror_customers,
    mirror_event_cursors,
    mirror_objects,
    webhook_events,
)
from lib.store.upsert import upsert_row
from lib.sync import sync_jobs, write_objects
from lib.sync.forget import ACCOUNT_KEYED_TABLES
from lib.sync.state import record_page, save_windows
from lib.sync.windows import Window
from lib.webhooks.events_store import new_event, record_poll_success, store_event

T0 = 1_790_000_000
MINE, THEIRS = "acct_1Mine", "acct_1Theirs"
OTHER_USER = "other@example.com"


def customer(customer_id: str, email: str) -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "created": T0,
        "email": email,
        "name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "metadata": {"crm": "vip"},
    }


def charge(charge_id: str, customer_id: str, *, refund: str | None = None) -> dict[str, Any]:
    refunds = [] if refund is None else [refund_object(refund, charge_id)]
    return {
        "id": charge_id,
        "object": "charge",
        "created": T0,
        "amount": 1999,
        "amount_refunded": 0,
        "currency": "usd",
        "status": "succeeded",
        "customer": customer_id,
        "description": "Order for Ada",
        "refunded": False,
        "disputed": False,
        "livemode": False,
        "billing_details": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "refunds": {"object": "list", "data": refunds},
    }


def refund_object(refund_id: str, charge_id: str) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "charge": charge_id,
        "created": T0,
        "amount": 500,
        "currency": "usd",
        "status": "succeeded",
    }


def subscription(subscription_id: str, customer_id: str) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer_id,
        "status": "active",
        "currency": "usd",
        "created": T0,
    }


def mirror(engine: Engine, account_key: str, tag: str) -> None:
    """A synced copy under `account_key`: one customer, charge, refund and subscription, with
    sync state, a window of an unfinished first sync, an events cursor and a poll cursor."""
    with engine.begin() as connection:
        write_objects(connection, account_key, "customers", [customer(f"cus_{tag}", tag)], T0)
        write_objects(
            connection,
            account_key,
            "charges",
            [charge(f"ch_{tag}", f"cus_{tag}", refund=f"re_{tag}")],
            T0,
        )
        write_objects(
            connection, account_key, "subscriptions", [subscription(f"sub_{tag}", f"cus_{tag}")], T0
        )
        record_page(
            connection, account_key, "charges", cursor=None, newest_created=T0, finished=True
        )
        save_windows(connection, account_key, "refunds", [Window(0, cursor=f"re_{tag}")])
        upsert_row(
            connection,
            mirror_event_cursors,
            {"account_key": account_key},
            {"last_row_id": 0, "applied_at": datetime.now(UTC)},
        )
    record_poll_success(engine, account_key)


def store_stripe_event(
    engine: Engine, event_id: str, obj: dict[str, Any], account: str | None = None
) -> None:
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "type": f"{obj['object']}.updated",
        "created": T0 + 10,
        "data": {"object": obj},
        "livemode": False,
    }
    if account is not None:
        event["account"] = account
    body = json.dumps(event)
    assert store_event(engine, new_event(event, body, "webhook"))


def rows_under(engine: Engine, account_key: str) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).where(table.c.account_key == account_key)
            ).scalar_one()
            for table in ACCOUNT_KEYED_TABLES
        }


def stored_event_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(webhook_events.c.event_id)).scalars())


@pytest.fixture
def store(engine: Engine) -> CredentialsStore:
    return CredentialsStore(engine, SecretBox([Fernet.generate_key()]))


def connect(store: CredentialsStore, user: str, token: str, account: str) -> str:
    """Save `user`'s pasted-key connection to `account`; the key its copy is stored under."""
    store.save(
        user,
        "stripe",
        ProviderCredentials(pat=token, account_id=account),
        ConnectionInfo(masked_key="sk_test_...", account_id=account, mode="test"),
    )
    return resolve_stripe_account(lib.config.get_settings(), user, store).key


@pytest.fixture
def two_accounts(engine: Engine, store: CredentialsStore) -> dict[str, str]:
    """My connection (and a copy left by my earlier key), another user's connection to another
    account, the STRIPE_SECRET_KEY account's copy, and events about each of them."""
    earlier = connect(store, "local", "sk_test_" + "e" * 24, MINE)
    mirror(engine, earlier, "mine_earlier")
    mine = connect(store, "local", "sk_test_" + "m" * 24, MINE)
    mirror(engine, mine, "mine")
    theirs = connect(store, OTHER_USER, "sk_test_" + "t" * 24, THEIRS)
    mirror(engine, theirs, "theirs")
    configured = settings_account(lib.config.Settings(stripe_secret_key="sk_test_" + "s" * 24))
    assert configured is not None
    mirror(engine, configured.key, "settings")
    # An object both copies hold is not only mine: events about it stay.
    with engine.begin() as connection:
        shared = customer("cus_shared", "shared@example.com")
        write_objects(connection, mine, "customers", [shared], T0)
        write_objects(connection, theirs, "customers", [shared], T0)
    store_stripe_event(engine, "evt_connect_mine", charge("ch_new", "cus_x"), account=MINE)
    store_stripe_event(engine, "evt_charge_mine", charge("ch_mine", "cus_mine"))
    store_stripe_event(engine, "evt_earlier_mine", customer("cus_mine_earlier", "x@example.com"))
    invoice = {"id": "in_1", "object": "invoice", "customer": "cus_mine", "customer_email": "a@b"}
    store_stripe_event(engine, "evt_invoice_mine", invoice)
    store_stripe_event(engine, "evt_refund_mine", refund_object("re_mine", "ch_mine"))
    store_stripe_event(engine, "evt_connect_theirs", charge("ch_t2", "cus_t"), account=THEIRS)
    store_stripe_event(engine, "evt_charge_theirs", charge("ch_theirs", "cus_theirs"))
    store_stripe_event(engine, "evt_settings", charge("ch_settings", "cus_settings"))
    store_stripe_event(engine, "evt_shared", customer("cus_shared", "shared@example.com"))
    return {"earlier": earlier, "mine": mine, "theirs": theirs, "settings": configured.key}


MY_EVENTS = {
    "evt_connect_mine",
    "evt_charge_mine",
    "evt_earlier_mine",
    "evt_invoice_mine",
    "evt_refund_mine",
}


def test_disconnect_deletes_that_accounts_copy_and_events_and_nothing_else(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    others_before = {
        name: rows_under(engine, key)
        for name, key in two_accounts.items()
        if name in ("theirs", "settings")
    }
    all_events = stored_event_ids(engine)

    outcome = disconnect(store, "local", "stripe", lib.config.get_settings())

    assert outcome.removed
    assert outcome.message == (
        "Disconnected Stripe; its credentials were deleted, and so was this app's copy of its "
        "data: 3 customers, 2 charges, 2 refunds, 2 subscriptions and 5 stored events."
    )
    assert store.get("local", "stripe") is None
    for name in ("mine", "earlier"):
        assert set(rows_under(engine, two_accounts[name]).values()) == {0}, name
    for name, before in others_before.items():
        assert rows_under(engine, two_accounts[name]) == before, name
    assert all(count > 0 for count in others_before["theirs"].values())
    assert stored_event_ids(engine) == all_events - MY_EVENTS
    assert store.get(OTHER_USER, "stripe") is not None


def test_keep_leaves_the_copy_and_events_and_deletes_only_the_credentials(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    before = rows_under(engine, two_accounts["mine"])
    events = stored_event_ids(engine)

    outcome = disconnect(store, "local", "stripe", lib.config.get_settings(), keep_data=True)

    assert outcome.message == (
        "Disconnected Stripe; its credentials were deleted. This app's copy of its data was kept."
    )
    assert store.get("local", "stripe") is None
    assert rows_under(engine, two_accounts["mine"]) == before
    assert stored_event_ids(engine) == events


def test_events_of_an_account_another_user_still_connects_are_kept(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    connect(store, "colleague@example.com", "sk_test_" + "c" * 24, MINE)

    disconnect(store, "local", "stripe", lib.config.get_settings())

    assert "evt_connect_mine" in stored_event_ids(engine)
    assert "evt_charge_mine" not in stored_event_ids(engine)


def test_the_confirmation_counts_what_would_be_deleted(
    store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    held = local_copy_of(store, "local")

    assert (held.customers, held.charges, held.refunds, held.subscriptions) == (3, 2, 2, 2)
    assert local_copy_of(store, "nobody@example.com").empty


def test_a_connection_that_cannot_be_decrypted_still_takes_its_copy_with_it(
    engine: Engine, two_accounts: dict[str, str]
) -> None:
    wrong_key = CredentialsStore(engine, SecretBox([Fernet.generate_key()]))

    outcome = disconnect(wrong_key, "local", "stripe", lib.config.get_settings())

    assert outcome.removed
    assert set(rows_under(engine, two_accounts["mine"]).values()) == {0}
    assert "evt_connect_mine" not in stored_event_ids(engine)
    assert rows_under(engine, two_accounts["theirs"])["mirror_charges"] == 1


def test_a_running_sync_of_the_account_is_stopped_before_its_copy_is_deleted(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    stopped = threading.Event()

    def sync_until_cancelled(should_cancel: Any, _progress: Any) -> None:
        while not should_cancel():
            stopped.wait(0.01)
        # A sync writes the page in hand before it stops: it must not outlive the delete.
        with engine.begin() as connection:
            write_objects(
                connection, two_accounts["mine"], "customers", [customer("cus_late", "l")], T0
            )
        stopped.set()

    job = sync_jobs.start(two_accounts["mine"], sync_until_cancelled)  # type: ignore[arg-type]

    disconnect(store, "local", "stripe", lib.config.get_settings())

    assert stopped.is_set() and not job.running
    assert set(rows_under(engine, two_accounts["mine"]).values()) == {0}


def test_nothing_is_deleted_when_there_was_no_connection(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str]
) -> None:
    before = rows_under(engine, two_accounts["theirs"])

    outcome = disconnect(store, "nobody@example.com", "stripe", lib.config.get_settings())

    assert not outcome.removed
    assert rows_under(engine, two_accounts["theirs"]) == before


@pytest.mark.parametrize("table", [mirror_customers, mirror_charges, mirror_objects])
def test_personal_fields_of_the_copy_are_gone_from_the_database(
    engine: Engine, store: CredentialsStore, two_accounts: dict[str, str], table: sa.Table
) -> None:
    disconnect(store, "local", "stripe", lib.config.get_settings())

    with engine.connect() as connection:
        left = [dict(row._mapping) for row in connection.execute(sa.select(table))]
    assert not any("mine" in json.dumps(row, default=str) for row in left)


def test_every_table_keyed_by_account_is_covered() -> None:
    keyed = {table.name for table in metadata.sorted_tables if "account_key" in table.c}

    assert keyed == {table.name for table in ACCOUNT_KEYED_TABLES}
    assert {"mirror_refunds", "mirror_subscriptions", "mirror_sync_state"} <= keyed
    assert "webhook_poll_cursors" in keyed
