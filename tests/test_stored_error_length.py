"""Error text stored by the sync, the Events API poller and the webhook worker has one limit."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from lib.store.tables import MAX_ERROR_TEXT_LENGTH
from lib.sync import read_states
from lib.sync.state import record_error
from lib.webhooks import list_server_events, load_cursor
from lib.webhooks.events_store import new_event, record_outcomes, record_poll_error, store_event

LONG_ERROR = "Stripe said: " + "x" * 5000


def test_a_sync_error_is_stored_cut_at_the_limit(engine: Engine) -> None:
    with engine.begin() as connection:
        record_error(connection, "acct_1", "charges", LONG_ERROR)
    with engine.connect() as connection:
        stored = read_states(connection, "acct_1")["charges"].last_error

    assert stored == LONG_ERROR[:MAX_ERROR_TEXT_LENGTH]


def test_a_poll_error_is_stored_cut_at_the_limit(engine: Engine) -> None:
    record_poll_error(engine, "acct_1", LONG_ERROR)

    cursor = load_cursor(engine, "acct_1")

    assert cursor is not None and cursor.last_error == LONG_ERROR[:MAX_ERROR_TEXT_LENGTH]


def test_a_reaction_error_is_stored_cut_at_the_limit(engine: Engine) -> None:
    event = {"id": "evt_1", "type": "charge.succeeded", "created": 1, "data": {"object": {}}}
    assert store_event(engine, new_event(event, json.dumps(event), "webhook"))
    [stored] = list_server_events(engine)

    record_outcomes(engine, {stored.id: LONG_ERROR})

    [failed] = list_server_events(engine)
    assert failed.status == "failed"
    assert failed.error == LONG_ERROR[:MAX_ERROR_TEXT_LENGTH]
