"""Which Stripe account the app reads: a user's stored connection, the configured key, or the demo.

Every source goes through the same `StripeAdapter`; the demo account only swaps the httpx
transport, so the code path from widget to HTTP request is the one production uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lib.config import Settings
from lib.demo import DEMO_API_KEY, DemoStripeTransport
from lib.providers.stripe import StripeAdapter, stripe_key_mode
from lib.providers.types import ProviderCredentials
from lib.store import CredentialsDecryptError, CredentialsStore

AccountSource = Literal["demo", "settings", "connection"]
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_UNDECRYPTABLE = "undecryptable"


@dataclass(frozen=True)
class StripeAccount:
    """The Stripe account a page reads, without anything secret in its printable fields."""

    key: str
    """Stable, non-secret cache key: responses are cached per account."""
    source: AccountSource
    label: str
    mode: Literal["test", "live"] | None
    credentials: ProviderCredentials
    base_url: str
    needs_reconnect: bool = False
    problem: str | None = None
    key_error: bool = False
    """The encryption key is unusable or not the one the connection was saved with: nothing
    stored can be read, and no other account is shown instead."""

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"


def demo_account() -> StripeAccount:
    return StripeAccount(
        key="demo",
        source="demo",
        label="Demo data",
        mode="test",
        credentials=ProviderCredentials(pat=DEMO_API_KEY),
        base_url="https://api.stripe.com/v1",
    )


def secret_fingerprint(secret: str) -> str:
    """16 hex digits that tell secrets apart without revealing them (for cache keys)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def settings_account(settings: Settings) -> StripeAccount | None:
    """The account of `STRIPE_SECRET_KEY`, when configured."""
    if settings.stripe_secret_key is None:
        return None
    key = settings.stripe_secret_key.get_secret_value()
    return StripeAccount(
        key=f"settings:{secret_fingerprint(settings.stripe_api_base + key)}",
        source="settings",
        label="Stripe account from STRIPE_SECRET_KEY",
        mode=stripe_key_mode(key),
        credentials=ProviderCredentials(pat=key),
        base_url=settings.stripe_api_base,
    )


def resolve_stripe_account(
    settings: Settings,
    user_id: str,
    store: CredentialsStore | None,
    *,
    key_problem: str | None = None,
) -> StripeAccount:
    """The user's stored Stripe connection if any, else `STRIPE_SECRET_KEY`, else the demo account.

    A stored connection that cannot be decrypted or that Stripe rejected is still returned
    (with `needs_reconnect`) so the pages ask the user to reconnect instead of showing
    someone else's data. With `key_problem` (the encryption key is unusable) no stored
    connection can be read, so neither the key's account nor the demo is offered instead.
    """
    if key_problem is not None:
        return _broken_connection(settings, user_id, key_problem)
    if store is not None:
        try:
            stored = store.get(user_id, "stripe")
        except CredentialsDecryptError as error:
            return _broken_connection(settings, user_id, str(error))
        if stored is not None:
            info = stored.info
            name = info.account_name or info.account_id or "Stripe account"
            token = stored.credentials.token()
            return StripeAccount(
                key=_connection_key(user_id, secret_fingerprint(settings.stripe_api_base + token)),
                source="connection",
                label=f"{name} ({info.mode or 'unknown'} mode)",
                mode=info.mode,
                credentials=stored.credentials,
                base_url=settings.stripe_api_base,
                needs_reconnect=stored.status == "needs_reconnect",
                problem=stored.status_reason,
            )
    return settings_account(settings) or demo_account()


def is_connection_key_of(account_key: str, user_id: str) -> bool:
    """Whether `account_key` names a copy read through one of `user_id`'s Stripe connections
    (this one or an earlier one: the key changes with the token)."""
    prefix = _connection_key(user_id, "")
    if not account_key.startswith(prefix):
        return False
    rest = account_key[len(prefix) :]
    return rest == _UNDECRYPTABLE or _FINGERPRINT.fullmatch(rest) is not None


def connection_key_prefix(user_id: str) -> str:
    """What every key of `user_id`'s connections starts with (check with `is_connection_key_of`:
    another user's id may extend this one)."""
    return _connection_key(user_id, "")


def _connection_key(user_id: str, suffix: str) -> str:
    return f"connection:{user_id}:{suffix}"


def _broken_connection(settings: Settings, user_id: str, problem: str) -> StripeAccount:
    return StripeAccount(
        key=_connection_key(user_id, _UNDECRYPTABLE),
        source="connection",
        label="Stripe connection (cannot be read)",
        mode=None,
        credentials=ProviderCredentials(),
        base_url=settings.stripe_api_base,
        needs_reconnect=True,
        problem=problem,
        key_error=True,
    )


@lru_cache(maxsize=1)
def _demo_transport() -> DemoStripeTransport:
    return DemoStripeTransport()


@lru_cache(maxsize=16)
def _adapter(base_url: str, demo: bool) -> StripeAdapter:
    return StripeAdapter(base_url=base_url, transport=_demo_transport() if demo else None)


def stripe_adapter_for(account: StripeAccount) -> StripeAdapter:
    """The process-wide adapter for this account (the demo one answers from memory)."""
    return _adapter(account.base_url, account.is_demo)
