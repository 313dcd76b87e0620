"""Stripe Connect OAuth: the authorize URL, the browser-bound state check, the code exchange and
deauthorization, with every failure in plain words.

The token exchange uses Authlib's OAuth 2 client over httpx; `stripe_connect_base` (normally
`https://connect.stripe.com`) is configurable so the flow can run against a local server.
"""

from __future__ import annotations

import hmac
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from pydantic import SecretStr, ValidationError

from lib.app_address import AppAddress
from lib.config import Settings
from lib.providers.http import make_timeout, shared_ssl_context
from lib.providers.masking import redact_secrets
from lib.providers.types import ProviderCredentials
from lib.store import OAuthStateStore, StateCheck

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork but supports httpx 0.28, which the app pins.
    warnings.filterwarnings("ignore", "The httpx module", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

CREDENTIALS_PAGE_PATH = "credentials"
START_ROUTE_PATH = "/api/auth/stripe"
STATE_COOKIE = "stripe_oauth_state"
STATE_TTL_SECONDS = 600
SCOPE = "read_write"
NOT_CONFIGURED = "Stripe OAuth not configured"
MAX_ERROR_DESCRIPTION = 300
# The callback's values come from a URL anyone can write: codes (ac_...) and our states are short
# URL-safe tokens, error codes are snake_case words.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_UNEXPECTED_ANSWER = (
    "Stripe answered the connection request in an unexpected format. Try again later."
)
_START_AGAIN = "Nothing was saved. Click “Connect with Stripe” to start again."
_STATE_PROBLEMS: dict[StateCheck, str] = {
    StateCheck.MISSING: "Stripe's answer carries no state, so it cannot be matched to a "
    f"connection started here. {_START_AGAIN}",
    StateCheck.UNKNOWN: "Stripe's answer does not match any connection started here. "
    f"{_START_AGAIN}",
    StateCheck.EXPIRED: "The connection was not completed within 10 minutes and has expired. "
    f"{_START_AGAIN}",
    StateCheck.USED: "This answer from Stripe was already used (for example the page was "
    f"reloaded or the link opened twice). {_START_AGAIN}",
    StateCheck.OTHER_OWNER: "This answer from Stripe belongs to a connection another person "
    f"started, so it cannot be finished while you are signed in. {_START_AGAIN}",
}
_COOKIE_MISSING = (
    "This browser did not start this Stripe connection, or it started more than 10 minutes ago. "
    f"{_START_AGAIN}"
)
_COOKIE_MISMATCH = (
    "This answer from Stripe belongs to a connection started in another browser or window. "
    f"{_START_AGAIN}"
)
_ERROR_WORDS: dict[str, str] = {
    "access_denied": "The connection was cancelled on Stripe, so nothing was connected.",
    "invalid_grant": "Stripe did not accept the authorization code: it has expired or was "
    "already used. Click “Connect with Stripe” to start again.",
    "invalid_client": "Stripe did not recognise this app's Connect settings. Check "
    "STRIPE_CLIENT_ID and the platform STRIPE_SECRET_KEY (same mode, same account).",
    "invalid_scope": "Stripe did not accept the access this app asked for.",
    "invalid_request": "Stripe did not accept the connection request.",
    "unsupported_grant_type": "Stripe did not accept the connection request.",
    "unsupported_response_type": "Stripe did not accept the connection request.",
}


class StripeConnectError(Exception):
    """A Stripe Connect step failed; the message is plain words, without any secret."""


@dataclass(frozen=True)
class StripeConnectConfig:
    """What the OAuth flow needs from the settings; the secret key never prints."""

    client_id: str
    secret_key: SecretStr
    connect_base: str

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.connect_base}/oauth/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.connect_base}/oauth/token"

    @property
    def deauthorize_endpoint(self) -> str:
        return f"{self.connect_base}/oauth/deauthorize"


@dataclass(frozen=True)
class OAuthCallback:
    """The query parameters Stripe adds when it sends the browser back."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    error_description: str | None = None


def connect_config(settings: Settings) -> StripeConnectConfig | None:
    """The OAuth settings when both STRIPE_CLIENT_ID and the platform STRIPE_SECRET_KEY are set,
    else None (the flow is then not offered)."""
    client_id = (settings.stripe_client_id or "").strip()
    if not client_id or settings.stripe_secret_key is None:
        return None
    return StripeConnectConfig(
        client_id=client_id,
        secret_key=settings.stripe_secret_key,
        connect_base=settings.stripe_connect_base.rstrip("/"),
    )


def start_url(address: AppAddress) -> str:
    """The app's own route that starts the flow (sets the state cookie, redirects to Stripe)."""
    return address.url(START_ROUTE_PATH)


def redirect_uri(address: AppAddress) -> str:
    """Where Stripe sends the browser back (the Credentials page); register it in Stripe's
    Connect settings."""
    return address.url(CREDENTIALS_PAGE_PATH)


def authorize_url(config: StripeConnectConfig, state: str, address: AppAddress) -> str:
    """Stripe's authorize URL asking for `read_write` access, returning to the Credentials page
    of the app at `address`."""
    with _client(client_id=config.client_id, scope=SCOPE) as client:
        url, _ = client.create_authorization_url(
            config.authorize_endpoint, state=state, redirect_uri=redirect_uri(address)
        )
    return url


def parse_callback(params: Mapping[str, str]) -> OAuthCallback | None:
    """The OAuth answer in a page's query parameters, or None when there is none.

    Each value is bounded: a code or state that is not a short URL-safe token counts as
    missing, an unreadable error code becomes `unknown_error`, and the description loses its
    control characters and is cut at MAX_ERROR_DESCRIPTION characters."""
    if not params.get("code") and not params.get("error"):
        return None
    error = params.get("error") or None
    raw_description = params.get("error_description") or ""
    description = _CONTROL.sub("", raw_description[:MAX_ERROR_DESCRIPTION])
    if len(raw_description) > MAX_ERROR_DESCRIPTION:
        description += "…"
    return OAuthCallback(
        code=_token(params.get("code")),
        state=_token(params.get("state")),
        error=error if error is None or _ERROR_CODE.fullmatch(error) else "unknown_error",
        error_description=description or None,
    )


def _token(value: str | None) -> str | None:
    return value if value is not None and _TOKEN.fullmatch(value) else None


def check_state(
    states: OAuthStateStore,
    state: str | None,
    cookie_state: str | None,
    owner: str | None = None,
) -> str | None:
    """None when `state` is the one this browser's cookie holds, was issued for `owner` (the
    signed-in admin; None without sign-in) and is consumed now (single use, unexpired); else
    why the answer is refused, in plain words."""
    if not state:
        return _STATE_PROBLEMS[StateCheck.MISSING]
    if not cookie_state:
        return _COOKIE_MISSING
    if not hmac.compare_digest(cookie_state.encode(), state.encode()):
        return _COOKIE_MISMATCH
    check = states.consume(state, "stripe", user_id=owner)
    return None if check is StateCheck.OK else _STATE_PROBLEMS[check]


def error_message(
    error: str, description: str | None, fallback: str = "Stripe could not complete the connection."
) -> str:
    """Stripe's OAuth `error` (and its `error_description`) in plain words."""
    words = _ERROR_WORDS.get(error, fallback)
    if description:
        return f'{words} Stripe said: "{description}" ({error})'
    return f"{words} ({error})"


def exchange_code(config: StripeConnectConfig, code: str) -> ProviderCredentials:
    """Trade the authorization `code` for the connected account's tokens.

    Returns them as OAuth credentials (`account_id` = `stripe_user_id`); raises
    StripeConnectError for a refused code, an unreachable or unexpected Stripe.
    """
    secret = config.secret_key.get_secret_value()
    try:
        with _client(client_id=config.client_id, client_secret=secret) as client:
            token: Mapping[str, Any] = client.fetch_token(
                config.token_endpoint, grant_type="authorization_code", code=code
            )
    except OAuthError as error:
        said = error_message(str(error.error), error.description or None)
        raise StripeConnectError(redact_secrets(said, [secret])) from None
    except httpx.HTTPError as error:
        raise _transport_failure(error) from None
    except ValueError:
        raise StripeConnectError(_UNEXPECTED_ANSWER) from None
    access_token, account_id = token.get("access_token"), token.get("stripe_user_id")
    if not isinstance(access_token, str) or not isinstance(account_id, str):
        raise StripeConnectError(_UNEXPECTED_ANSWER)
    refresh_token = token.get("refresh_token")
    try:
        return ProviderCredentials(
            pat=SecretStr(access_token),
            auth_method="oauth",
            refresh_token=SecretStr(refresh_token) if isinstance(refresh_token, str) else None,
            account_id=account_id,
            publishable_key=token.get("stripe_publishable_key"),
            scope=token.get("scope"),
            livemode=token.get("livemode"),
        )
    except ValidationError:
        raise StripeConnectError(_UNEXPECTED_ANSWER) from None


def deauthorize(config: StripeConnectConfig, stripe_user_id: str) -> None:
    """Revoke this platform's access to the connected account `stripe_user_id`.

    Raises StripeConnectError, with Stripe's own words when it gave any, when that failed.
    """
    secret = config.secret_key.get_secret_value()
    auth = httpx.BasicAuth(secret, "")
    body = {"client_id": config.client_id, "stripe_user_id": stripe_user_id}
    try:
        with _client() as client:
            response = client.post(config.deauthorize_endpoint, data=body, auth=auth)
    except httpx.HTTPError as error:
        raise _transport_failure(error) from None
    if response.is_success:
        return
    payload = _json_object(response)
    error = payload.get("error")
    description = payload.get("error_description")
    if isinstance(error, str):
        said = description if isinstance(description, str) else None
        message = error_message(error, said, fallback="Stripe refused the request.")
    else:
        message = f"Stripe answered with HTTP {response.status_code}."
    raise StripeConnectError(
        redact_secrets(f"Stripe did not disconnect the account. {message}", [secret])
    )


def _client(**kwargs: Any) -> OAuth2Client:
    return OAuth2Client(
        token_endpoint_auth_method="client_secret_post",
        timeout=make_timeout(),
        verify=shared_ssl_context(),
        **kwargs,
    )


def _transport_failure(error: httpx.HTTPError) -> StripeConnectError:
    if isinstance(error, httpx.HTTPStatusError):
        return StripeConnectError(
            f"Stripe had a problem answering (HTTP {error.response.status_code}). "
            "Try again in a few minutes."
        )
    return StripeConnectError(
        "Could not reach Stripe's Connect service. Check the internet connection and try again."
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
