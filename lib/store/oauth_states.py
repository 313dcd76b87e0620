"""Pending OAuth flows: single-use `state` values that survive the redirect to the provider.

Only the SHA-256 of a state is stored, so reading the table does not let anyone forge a callback.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.providers.types import ProviderName
from lib.store.tables import oauth_states

DEFAULT_TTL_SECONDS = 600


class StateCheck(StrEnum):
    OK = "ok"
    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def hash_state(state: str) -> str:
    """The stored form of a state: SHA-256, hex."""
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthStateStore:
    """Creates states when a flow starts and consumes each exactly once when it returns."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, provider: ProviderName, user_id: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> str:
        """A new unguessable state for `user_id`'s flow with `provider`, valid `ttl_seconds`."""
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            connection.execute(
                oauth_states.insert().values(
                    state_hash=hash_state(state),
                    provider=provider,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_seconds),
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
        unexpired, then USED; EXPIRED after its TTL; UNKNOWN when never issued for them."""
        if not state:
            return StateCheck.MISSING
        at = now or datetime.now(UTC)
        matches = sa.and_(
            oauth_states.c.state_hash == hash_state(state), oauth_states.c.provider == provider
        )
        if user_id is not None:
            matches = sa.and_(matches, oauth_states.c.user_id == user_id)
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
