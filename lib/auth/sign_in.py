"""Whether the app is gated by Streamlit's OIDC sign-in (`st.login`), and with which providers.

Streamlit reads its sign-in settings from the `[auth]` table of secrets.toml: the shared keys
(`redirect_uri`, `cookie_secret`) and either one provider inline (`client_id`, `client_secret`,
`server_metadata_url`: the "default" provider) or one sub-table per named provider
(`[auth.google]`). The app only needs to know that sign-in is on, which providers to offer and
the cookie secret (to sign its own short-lived links); Authlib, through Streamlit, does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

DEFAULT_PROVIDER = "default"
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


@dataclass(frozen=True)
class SignInSettings:
    """The `[auth]` table as far as the app uses it; `providers` in the file's order."""

    providers: tuple[str, ...]
    cookie_secret: SecretStr | None


def sign_in_settings(auth_section: Mapping[str, Any] | None) -> SignInSettings | None:
    """The sign-in settings when an `[auth]` table exists (even an incomplete one: the app then
    stays closed and the sign-in page says what is missing), else None (local mode)."""
    if auth_section is None:
        return None
    providers = [
        name
        for name, value in auth_section.items()
        if isinstance(value, Mapping) and any(key in value for key in _PROVIDER_KEYS)
    ]
    if any(key in auth_section for key in _PROVIDER_KEYS):
        providers.insert(0, DEFAULT_PROVIDER)
    secret = auth_section.get("cookie_secret")
    return SignInSettings(
        providers=tuple(providers),
        cookie_secret=SecretStr(secret) if isinstance(secret, str) and secret else None,
    )


def provider_button_label(provider: str) -> str:
    """The sign-in button's words for `provider` ("Sign in" for the default provider)."""
    if provider == DEFAULT_PROVIDER:
        return "Sign in"
    words = {"microsoft": "Microsoft", "google": "Google", "okta": "Okta", "auth0": "Auth0"}
    return f"Sign in with {words.get(provider.lower(), provider)}"
