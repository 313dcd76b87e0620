"""Which Stripe account the app reads: a user's stored connection, the configured key, or the demo.

Every source goes through the same `StripeAdapter`; the demo account only swaps the httpx
transport, so the code path from widget to HTTP request is the one production uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lib.config import Settings
from lib.demo import DEMO_API_KEY, DemoStripeTransport
from lib.providers.stripe import StripeAdapter, stripe_key_mode
from lib.providers.types import ProviderCredentials
from lib.store import CredentialsDecryptError, CredentialsStore

AccountSource = Literal["demo", "settings", "connection"]


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


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def settings_account(settings: Settings) -> StripeAccount | None:
    """The account of `STRIPE_SECRET_KEY`, when configured."""
    if settings.stripe_secret_key is None:
        return None
    key = settings.stripe_secret_key.get_secret_value()
    return StripeAccount(
        key=f"settings:{_fingerprint(settings.stripe_api_base + key)}",
        source="settings",
        label="Stripe account from STRIPE_SECRET_KEY",
        mode=stripe_key_mode(key),
        credentials=ProviderCredentials(pat=key),
        base_url=settings.stripe_api_base,
    )


def resolve_stripe_account(
    settings: Settings, user_id: str, store: CredentialsStore | None
) -> StripeAccount:
    """The user's stored Stripe connection if any, else `STRIPE_SECRET_KEY`, else the demo account.

    A stored connection that cannot be decrypted or that Stripe rejected is still returned
    (with `needs_reconnect`) so the pages ask the user to reconnect instead of showing
    someone else's data.
    """
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
                key=f"connection:{user_id}:{_fingerprint(settings.stripe_api_base + token)}",
                source="connection",
                label=f"{name} ({info.mode or 'unknown'} mode)",
                mode=info.mode,
                credentials=stored.credentials,
                base_url=settings.stripe_api_base,
                needs_reconnect=stored.status == "needs_reconnect",
                problem=stored.status_reason,
            )
    return settings_account(settings) or demo_account()


def _broken_connection(settings: Settings, user_id: str, problem: str) -> StripeAccount:
    return StripeAccount(
        key=f"connection:{user_id}:undecryptable",
        source="connection",
        label="Stripe connection (cannot be read)",
        mode=None,
        credentials=ProviderCredentials(),
        base_url=settings.stripe_api_base,
        needs_reconnect=True,
        problem=problem,
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
