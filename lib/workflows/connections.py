"""The provider connections workflow steps send through: the app's stored connections
(Credentials page) with the base URLs from settings, or why a provider cannot be used."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount, stripe_adapter_for
from lib.config import Settings
from lib.providers.base import ProviderAdapter
from lib.providers.http import RetryPolicy
from lib.providers.registry import get_adapter, provider_label
from lib.providers.types import ProviderCredentials, ProviderName
from lib.store import CredentialsDecryptError, CredentialsStore, EncryptionKeyError, load_secret_box
from lib.webhooks.poller import APP_USER_ID, app_account

STEP_TIMEOUT_SECONDS = 15.0
# One attempt per request: the run scheduler retries, records each attempt and its wait.
_ONE_ATTEMPT = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class Connection:
    """An adapter with the credentials to use it."""

    adapter: ProviderAdapter
    credentials: ProviderCredentials


class StepConnections:
    """Opens, per provider, the connection steps send through (once per runner pass)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._store: CredentialsStore | None = None
        self._opened: dict[str, Connection | str] = {}

    def stripe_account(self) -> StripeAccount:
        """The Stripe account the app reads (stored connection, configured key or demo)."""
        return app_account(self._settings, self._engine)

    def stripe_adapter(self, account: StripeAccount) -> ProviderAdapter:
        return stripe_adapter_for(account)

    def connection(self, provider: ProviderName) -> Connection | str:
        """The connection to `provider`, or why there is none ("Slack is not connected")."""
        if provider not in self._opened:
            self._opened[provider] = self._open(provider)
        return self._opened[provider]

    def close(self) -> None:
        for opened in self._opened.values():
            if isinstance(opened, Connection):
                opened.adapter.close()

    def _open(self, provider: ProviderName) -> Connection | str:
        label = provider_label(provider)
        missing_setting = self._missing_setting(provider)
        if missing_setting is not None:
            return f"{missing_setting} is not set"
        try:
            stored = self._credentials_store().get(APP_USER_ID, provider)
        except (CredentialsDecryptError, EncryptionKeyError):
            return f"the stored {label} connection cannot be read with APP_ENCRYPTION_KEY"
        if stored is None:
            return f"{label} is not connected"
        if stored.status != "connected":
            return f"{label} needs to be connected again"
        adapter = get_adapter(
            provider,
            base_url=self._base_url(provider),
            retry=_ONE_ATTEMPT,
            timeout=STEP_TIMEOUT_SECONDS,
        )
        return Connection(adapter=adapter, credentials=stored.credentials)

    def _missing_setting(self, provider: ProviderName) -> str | None:
        if provider == "jira" and not self._settings.jira_project_key:
            return "JIRA_PROJECT_KEY"
        if provider == "twilio" and not self._settings.twilio_from:
            return "TWILIO_FROM"
        return None

    def _base_url(self, provider: ProviderName) -> str | None:
        if provider == "jira":
            return self._settings.jira_base_url
        if provider == "slack":
            return self._settings.slack_api_base
        if provider == "twilio":
            return self._settings.twilio_api_base
        return None

    def _credentials_store(self) -> CredentialsStore:
        if self._store is None:
            box, _origin = load_secret_box(self._settings)
            self._store = CredentialsStore(self._engine, box)
        return self._store
