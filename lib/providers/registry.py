"""Which adapter serves which provider, with the label and credentials help the UI shows."""

from __future__ import annotations

from typing import Any

from lib.providers.base import ProviderAdapter
from lib.providers.calendar import CalendarAdapter
from lib.providers.github import GitHubAdapter
from lib.providers.jira import JiraAdapter
from lib.providers.linear import LinearAdapter
from lib.providers.slack import SlackAdapter
from lib.providers.stripe import StripeAdapter
from lib.providers.twilio import TwilioAdapter
from lib.providers.types import PROVIDERS, ProviderName

ADAPTERS: dict[ProviderName, type[ProviderAdapter]] = {
    adapter.name: adapter
    for adapter in (
        GitHubAdapter,
        JiraAdapter,
        LinearAdapter,
        SlackAdapter,
        CalendarAdapter,
        StripeAdapter,
        TwilioAdapter,
    )
}
assert set(ADAPTERS) == set(PROVIDERS), "every provider in lib.providers.types needs an adapter"


class UnknownProviderError(KeyError):
    """A provider name that no adapter serves."""


def adapter_class(name: str) -> type[ProviderAdapter]:
    """The adapter class for `name`; raises UnknownProviderError for an unknown provider."""
    try:
        return ADAPTERS[name]  # type: ignore[index]
    except KeyError:
        known = ", ".join(PROVIDERS)
        raise UnknownProviderError(f"unknown provider {name!r}; known: {known}") from None


def get_adapter(name: str, **kwargs: Any) -> ProviderAdapter:
    """A new adapter for `name`; `kwargs` go to its constructor (base_url, transport, retry...)."""
    return adapter_class(name)(**kwargs)


def provider_label(name: str) -> str:
    """The name people know the provider by, e.g. "Google Calendar" for `calendar`."""
    return adapter_class(name).label


def credentials_help(name: str) -> str:
    """A short description of the credentials the provider needs and where to find them."""
    return adapter_class(name).credentials_help
