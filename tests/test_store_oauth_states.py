"""OAuth states: stored hashed, single use even under concurrency, expiring, purged."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store import OAuthStateStore, StateCheck
from lib.store.tables import oauth_states


@pytest.fixture
def states(engine: Engine) -> OAuthStateStore:
    return OAuthStateStore(engine)


def test_only_the_hash_of_a_state_is_stored(engine: Engine, states: OAuthStateStore) -> None:
    state = states.create("stripe", "user-1")

    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM oauth_states")).mappings().one()

    assert len(state) >= 43
    assert row["state_hash"] == hashlib.sha256(state.encode()).hexdigest()
    assert state not in " ".join(str(value) for value in row.values())
    assert (row["provider"], row["user_id"], row["used_at"]) == ("stripe", "user-1", None)


def test_a_state_is_accepted_once_then_reported_used(states: OAuthStateStore) -> None:
    state = states.create("stripe", "user-1")

    assert states.consume(state, "stripe") is StateCheck.OK
    assert states.consume(state, "stripe") is StateCheck.USED


def test_a_state_past_its_lifetime_is_expired(states: OAuthStateStore) -> None:
    state = states.create("stripe", "user-1", ttl_seconds=600)
    later = datetime.now(UTC) + timedelta(seconds=601)

    assert states.consume(state, "stripe", now=later) is StateCheck.EXPIRED
    assert states.consume(state, "stripe") is StateCheck.OK


@pytest.mark.parametrize("state", ["", None])
def test_a_callback_without_state_is_missing(states: OAuthStateStore, state: str | None) -> None:
    assert states.consume(state, "stripe") is StateCheck.MISSING


def test_states_never_issued_for_that_provider_are_unknown(states: OAuthStateStore) -> None:
    state = states.create("stripe", "user-1")

    assert states.consume("forged-state-value", "stripe") is StateCheck.UNKNOWN
    assert states.consume("forged-state-value", "stripe", user_id="user-1") is StateCheck.UNKNOWN
    assert states.consume(state, "github") is StateCheck.UNKNOWN
    assert states.consume(state, "stripe", user_id="user-1") is StateCheck.OK


def test_a_state_issued_for_another_user_is_refused_and_stays_theirs(
    states: OAuthStateStore,
) -> None:
    state = states.create("stripe", "ann@example.com")

    assert states.consume(state, "stripe", user_id="bob@example.com") is StateCheck.OTHER_OWNER
    assert states.consume(state, "stripe", user_id="ann@example.com") is StateCheck.OK


def test_two_concurrent_callbacks_get_exactly_one_ok(states: OAuthStateStore) -> None:
    state = states.create("stripe", "user-1")
    callers = 8
    start = threading.Barrier(callers)
    results: list[StateCheck | BaseException] = []

    def consume() -> None:
        start.wait()
        try:
            results.append(states.consume(state, "stripe"))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=consume) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(results) == {StateCheck.OK: 1, StateCheck.USED: callers - 1}


def test_purge_removes_only_expired_states(engine: Engine, states: OAuthStateStore) -> None:
    short = states.create("stripe", "user-1", ttl_seconds=60)
    long = states.create("stripe", "user-1", ttl_seconds=3600)

    purged = states.purge_expired(now=datetime.now(UTC) + timedelta(seconds=120))

    assert purged == 1
    with engine.connect() as connection:
        kept = connection.execute(sa.select(oauth_states.c.state_hash)).scalars().all()
    assert kept == [hashlib.sha256(long.encode()).hexdigest()]
    assert states.consume(short, "stripe") is StateCheck.UNKNOWN
