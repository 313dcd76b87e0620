"""Pending OAuth flows: single-use `state` values that survive the redirect to the provider.

Only the SHA-256 of a state is stored, so reading the table does not let anyone forge a callback.
Anyone can start a flow, so the unused, unexpired states are capped per client and in total,
and expired ones are purged on a schedule: the table stays small under a flood.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import zlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.providers.types import ProviderName
from lib.store.tables import oauth_states

DEFAULT_TTL_SECONDS = 600
MAX_PENDING_PER_CLIENT = 10
MAX_PENDING_TOTAL = 10_000
# Any constant works; it only has to be the same in every process of this app.
_CREATE_LOCK_KEY = zlib.crc32(b"stripe-dashboard:oauth-states")


class TooManyPendingStates(Exception):
    """The client (or everyone together) has as many unused states as allowed; the oldest of
    them expires in `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many sign-in flows started and not finished")
        self.retry_after_seconds = retry_after_seconds


class StateCheck(StrEnum):
    OK = "ok"
    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    OTHER_OWNER = "other_owner"


def hash_state(state: str) -> str:
    """The stored form of a state: SHA-256, hex."""
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthStateStore:
    """Creates states when a flow starts and consumes each exactly once when it returns."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        provider: ProviderName,
        user_id: str,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        *,
        client_ref: str | None = None,
    ) -> str:
        """A new unguessable state for `user_id`'s flow with `provider`, valid `ttl_seconds`.

        `client_ref` names who asked (see `client_ref_for`). Raises TooManyPendingStates when
        that client already holds MAX_PENDING_PER_CLIENT unused, unexpired states, or all
        clients together MAX_PENDING_TOTAL.
        """
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            # Serialises creation, so concurrent requests cannot all pass the cap (SQLite's
            # BEGIN IMMEDIATE already does).
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATE_LOCK_KEY)))
            _check_cap(connection, now, client_ref)
            connection.execute(
                oauth_states.insert().values(
                    state_hash=hash_state(state),
                    provider=provider,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_seconds),
                    client_ref=client_ref,
                )
            )
        return state

    def consume(
        self,
        state: str | None,
        provider: ProviderName,
        now: datetime | None = None,
        *,
        user_id: str | None = None,
    ) -> StateCheck:
        """Use up `state` for `provider` (and, when given, for `user_id`): OK exactly once while
        unexpired, then USED; EXPIRED after its TTL; OTHER_OWNER when it was issued for another
        user (it stays unused); UNKNOWN when never issued."""
        if not state:
            return StateCheck.MISSING
        at = now or datetime.now(UTC)
        issued = sa.and_(
            oauth_states.c.state_hash == hash_state(state), oauth_states.c.provider == provider
        )
        matches = issued if user_id is None else sa.and_(issued, oauth_states.c.user_id == user_id)
        with self._engine.begin() as connection:
            # The conditional UPDATE is the single-use guarantee: one caller sees rowcount 1.
            claimed = connection.execute(
                oauth_states.update()
                .where(matches, oauth_states.c.used_at.is_(None), oauth_states.c.expires_at > at)
                .values(used_at=at)
            ).rowcount
            if claimed == 1:
                return StateCheck.OK
            row = connection.execute(
                sa.select(oauth_states.c.used_at, oauth_states.c.expires_at).where(matches)
            ).one_or_none()
            if row is None and connection.execute(sa.select(sa.literal(1)).where(issued)).first():
                return StateCheck.OTHER_OWNER
        if row is None:
            return StateCheck.UNKNOWN
        if row.used_at is not None:
            return StateCheck.USED
        return StateCheck.EXPIRED

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete states past their expiry; returns how many were deleted."""
        at = now or datetime.now(UTC)
        with self._engine.begin() as connection:
            result = connection.execute(
                oauth_states.delete().where(oauth_states.c.expires_at <= at)
            )
        return result.rowcount


def client_ref_for(address: str) -> str:
    """The stored name of a client address: SHA-256 hex of the address, IPv6 by its /64 (one
    site's share, which a single client can vary freely)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        key = address
    else:
        key = (
            str(ipaddress.ip_network(f"{parsed}/64", strict=False))
            if parsed.version == 6
            else str(parsed)
        )
    return hashlib.sha256(key.encode()).hexdigest()


def _check_cap(connection: Connection, now: datetime, client_ref: str | None) -> None:
    pending = sa.and_(oauth_states.c.used_at.is_(None), oauth_states.c.expires_at > now)
    limits = [(pending, MAX_PENDING_TOTAL)]
    if client_ref is not None:
        limits.append(
            (sa.and_(pending, oauth_states.c.client_ref == client_ref), MAX_PENDING_PER_CLIENT)
        )
    for condition, limit in limits:
        count, oldest = connection.execute(
            sa.select(sa.func.count(), sa.func.min(oauth_states.c.expires_at)).where(condition)
        ).one()
        if count >= limit:
            raise TooManyPendingStates(max(1, math.ceil((oldest - now).total_seconds())))
