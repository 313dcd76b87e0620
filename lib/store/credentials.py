"""Provider credentials per user, encrypted at rest together with everything key-like.

Only the provider, status, timestamps and the non-secret account id (`account_ref`, so a
deauthorize webhook can find the row) are stored in clear; the token, the masked key, the
account name and email live inside the encrypted blob.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Connection, Engine

from lib.providers.types import ProviderCredentials, ProviderName
from lib.store.crypto import CredentialsDecryptError, SecretBox
from lib.store.tables import user_credentials
from lib.store.upsert import dialect_insert

ConnectionStatus = Literal["connected", "needs_reconnect"]
_BLOB_FORMAT = 1


@dataclass(frozen=True)
class ConnectionInfo:
    """What the settings page shows about a connection; nothing here can authenticate."""

    masked_key: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    email: str | None = None
    mode: Literal["test", "live"] | None = None
    auth_method: Literal["api_key", "oauth"] = "api_key"
    connected_by: str | None = None
    """Who connected it: the signed-in admin's e-mail, or "local visitor" without sign-in."""


@dataclass(frozen=True)
class StoredConnection:
    user_id: str
    provider: ProviderName
    credentials: ProviderCredentials
    info: ConnectionInfo
    status: ConnectionStatus
    status_reason: str | None
    account_ref: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConnectionSummary:
    """One stored connection for listing: `info` when it decrypts, else `decrypt_error`."""

    provider: ProviderName
    status: ConnectionStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    account_ref: str | None
    info: ConnectionInfo | None
    decrypt_error: str | None = None


class CredentialsStore:
    """Reads and writes `user_credentials`; one row per user and provider."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    @property
    def engine(self) -> Engine:
        """The database the connections live in (the local copies of accounts live there too)."""
        return self._engine

    def save(
        self,
        user_id: str,
        provider: ProviderName,
        credentials: ProviderCredentials,
        info: ConnectionInfo,
    ) -> StoredConnection:
        """Insert or replace the user's connection to `provider`, marked connected.

        A replacement keeps `created_at` and bumps `updated_at`.
        """
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "credentials": self._box.encrypt_json(_to_blob(credentials, info)),
            "status": "connected",
            "status_reason": None,
            "account_ref": info.account_id or credentials.account_id,
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            insert = dialect_insert(connection)(user_credentials).values(
                user_id=user_id, provider=provider, created_at=now, **values
            )
            statement = insert.on_conflict_do_update(
                index_elements=[user_credentials.c.user_id, user_credentials.c.provider],
                set_=values,
            ).returning(*user_credentials.c)
            row = connection.execute(statement).one()
        return _stored_connection(row, credentials, info)

    def get(self, user_id: str, provider: ProviderName) -> StoredConnection | None:
        """The user's connection to `provider`, decrypted; None when there is none.

        Raises CredentialsDecryptError when it was saved with a different key.
        """
        with self._engine.begin() as connection:
            row = connection.execute(
                sa.select(user_credentials).where(
                    user_credentials.c.user_id == user_id,
                    user_credentials.c.provider == provider,
                )
            ).one_or_none()
        if row is None:
            return None
        credentials, info = _from_blob(self._box.decrypt_json(row.credentials))
        return _stored_connection(row, credentials, info)

    def list_connections(self, user_id: str) -> list[ConnectionSummary]:
        """Every stored connection of the user, by provider; a row that cannot be decrypted is
        reported through `decrypt_error` instead of raising."""
        with self._engine.begin() as connection:
            rows = connection.execute(
                sa.select(user_credentials)
                .where(user_credentials.c.user_id == user_id)
                .order_by(user_credentials.c.provider)
            ).all()
        summaries = []
        for row in rows:
            info: ConnectionInfo | None = None
            error: str | None = None
            try:
                _, info = _from_blob(self._box.decrypt_json(row.credentials))
            except CredentialsDecryptError as exc:
                error = str(exc)
            summaries.append(
                ConnectionSummary(
                    provider=row.provider,
                    status=row.status,
                    status_reason=row.status_reason,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    account_ref=row.account_ref,
                    info=info,
                    decrypt_error=error,
                )
            )
        return summaries

    def mark_needs_reconnect(self, user_id: str, provider: ProviderName, reason: str) -> bool:
        """Flag the user's connection as needing a reconnect; False when there is none."""
        condition = sa.and_(
            user_credentials.c.user_id == user_id, user_credentials.c.provider == provider
        )
        return self._mark(condition, reason) > 0

    def mark_oauth_deauthorized(
        self, provider: ProviderName, account_ref: str, reason: str, *, deauthorized_at: datetime
    ) -> int:
        """Flag the OAuth connections to the account `account_ref` last saved before
        `deauthorized_at` (Stripe's `account.application.deauthorized`); returns how many.

        A pasted key to the same account is left alone (deauthorizing an application revokes
        only its OAuth tokens), and so is a connection saved after the deauthorization (a late
        delivery must not undo a reconnect). Rows that cannot be decrypted cannot be told apart:
        the others are flagged, then CredentialsDecryptError is raised.
        """
        with self._engine.begin() as connection:
            rows = connection.execute(
                sa.select(
                    user_credentials.c.id,
                    user_credentials.c.credentials,
                    user_credentials.c.updated_at,
                ).where(
                    user_credentials.c.provider == provider,
                    user_credentials.c.account_ref == account_ref,
                    user_credentials.c.updated_at < deauthorized_at,
                )
            ).all()
        flagged = 0
        unreadable: CredentialsDecryptError | None = None
        for row in rows:
            try:
                credentials, _info = _from_blob(self._box.decrypt_json(row.credentials))
            except CredentialsDecryptError as error:
                unreadable = error
                continue
            if credentials.auth_method != "oauth":
                continue
            # Unchanged since read: a reconnect in between is newer than the deauthorization.
            unchanged = sa.and_(
                user_credentials.c.id == row.id, user_credentials.c.updated_at == row.updated_at
            )
            flagged += self._mark(unchanged, reason)
        if unreadable is not None:
            raise unreadable
        return flagged

    def others_connected_to(
        self,
        provider: ProviderName,
        account_ref: str,
        user_id: str,
        *,
        connection: Connection | None = None,
    ) -> bool:
        """Whether a user other than `user_id` has a connection to the account `account_ref`."""
        statement = sa.select(sa.literal(1)).where(
            user_credentials.c.provider == provider,
            user_credentials.c.account_ref == account_ref,
            user_credentials.c.user_id != user_id,
        )
        if connection is not None:
            return connection.execute(statement.limit(1)).first() is not None
        with self._engine.begin() as own:
            return own.execute(statement.limit(1)).first() is not None

    def delete(
        self, user_id: str, provider: ProviderName, *, connection: Connection | None = None
    ) -> bool:
        """Forget the user's connection to `provider`; False when there was none.

        With `connection`, the delete joins that transaction (to commit with other deletes).
        """
        statement = user_credentials.delete().where(
            user_credentials.c.user_id == user_id, user_credentials.c.provider == provider
        )
        if connection is not None:
            return connection.execute(statement).rowcount > 0
        with self._engine.begin() as own:
            return own.execute(statement).rowcount > 0

    def _mark(self, condition: sa.ColumnElement[bool], reason: str) -> int:
        with self._engine.begin() as connection:
            result = connection.execute(
                user_credentials.update()
                .where(condition)
                .values(
                    status="needs_reconnect",
                    status_reason=reason,
                    updated_at=datetime.now(UTC),
                )
            )
        return result.rowcount


def _to_blob(credentials: ProviderCredentials, info: ConnectionInfo) -> dict[str, Any]:
    # model_dump would write SecretStr as "**********": unwrap secrets explicitly.
    plain = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in credentials.model_dump().items()
    }
    return {"format": _BLOB_FORMAT, "credentials": plain, "info": asdict(info)}


def _from_blob(blob: dict[str, Any]) -> tuple[ProviderCredentials, ConnectionInfo]:
    return ProviderCredentials.model_validate(blob["credentials"]), ConnectionInfo(**blob["info"])


def _stored_connection(
    row: sa.Row[Any], credentials: ProviderCredentials, info: ConnectionInfo
) -> StoredConnection:
    return StoredConnection(
        user_id=row.user_id,
        provider=row.provider,
        credentials=credentials,
        info=info,
        status=row.status,
        status_reason=row.status_reason,
        account_ref=row.account_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
