"""Which adapter and credentials a widget's requests go through: those of the widget's own
provider, so a GitHub widget reaches GitHub with the GitHub connection and never Stripe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from lib.accounts import StripeAccount, secret_fingerprint, stripe_adapter_for
from lib.providers.base import ProviderAdapter
from lib.providers.registry import get_adapter, provider_label
from lib.providers.types import PROVIDERS, ApiResponse, ProviderCredentials, ProviderName
from lib.store import CredentialsDecryptError, CredentialsStore
from lib.widgets.fetch import fetch_source
from lib.widgets.problems import (
    ViewProblem,
    api_problem,
    missing_connection_problem,
    unreadable_connection_problem,
)
from lib.widgets.schema import DataSourceSpec


@dataclass(frozen=True)
class WidgetSource:
    """The adapter and credentials of one provider connection, with nothing secret in its
    printable fields."""

    provider: ProviderName
    label: str
    cache_key: str
    """Stable and not secret: responses are cached per source."""
    adapter: ProviderAdapter
    credentials: ProviderCredentials
    credentials_name: str
    """Whose credentials these are, as a rejection names them ("the key in STRIPE_SECRET_KEY")."""
    stored: bool
    """A user's stored connection: a rejection marks it as needing reconnection."""

    def fetch(
        self, source: DataSourceSpec, now: datetime, extra: dict[str, Any] | None = None
    ) -> ApiResponse[Any]:
        """The raw response of `source` through this connection."""
        return fetch_source(source, self.adapter, self.credentials, now, extra)

    def problem(self, response: ApiResponse[Any]) -> ViewProblem:
        """What a failed response of this connection means for the person."""
        return api_problem(response.error, self.label, self.credentials_name)


def stripe_source(account: StripeAccount) -> WidgetSource:
    """The Stripe account the pages read (stored connection, configured key or demo)."""
    from_settings = account.source == "settings"
    return WidgetSource(
        provider="stripe",
        label="Stripe",
        cache_key=account.key,
        adapter=stripe_adapter_for(account),
        credentials=account.credentials,
        credentials_name=(
            "the key in STRIPE_SECRET_KEY" if from_settings else "the stored Stripe connection"
        ),
        stored=account.source == "connection",
    )


def widget_source(
    provider: ProviderName,
    stripe_account: StripeAccount,
    store: CredentialsStore | None,
    user_id: str,
) -> WidgetSource | ViewProblem:
    """The connection a widget reading `provider` uses: Stripe's account for Stripe, else the
    user's stored connection to that provider; a problem to show when there is none to use."""
    if provider == "stripe":
        return stripe_source(stripe_account)
    label = provider_label(provider)
    if store is None:
        return unreadable_connection_problem(label)
    try:
        stored = store.get(user_id, provider)
    except CredentialsDecryptError:
        return unreadable_connection_problem(label)
    if stored is None:
        return missing_connection_problem(label)
    adapter = provider_adapter(provider)
    secret = adapter.resolve_base_url(stored.credentials) + stored.credentials.token()
    return WidgetSource(
        provider=provider,
        label=label,
        cache_key=f"{provider}:{user_id}:{secret_fingerprint(secret)}",
        adapter=adapter,
        credentials=stored.credentials,
        credentials_name=f"the stored {label} connection",
        stored=True,
    )


@lru_cache(maxsize=len(PROVIDERS))
def provider_adapter(provider: ProviderName) -> ProviderAdapter:
    """The process-wide adapter of a provider other than Stripe (one HTTP client each)."""
    return get_adapter(provider)
