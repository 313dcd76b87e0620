"""Stripe REST API adapter (API version pinned to lib.config.STRIPE_API_VERSION)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from lib.config import STRIPE_API_VERSION
from lib.providers.base import ProviderAdapter, error_code_for_status, json_or_none
from lib.providers.stripe_form import encode_stripe_form
from lib.providers.types import (
    ApiError,
    ApiResponse,
    ConnectionTestResult,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)

StripeMode = Literal["test", "live"]
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
MAX_PAGE_SIZE = 100
RESTRICTED_KEY_NOTE = "restricted key: account details not readable"
# Endpoints a restricted key is likely allowed to read, tried when /account is refused.
_FALLBACK_PROBES = ("/charges", "/customers")
_MIN_OAUTH_TOKEN_LENGTH = 20


def stripe_key_mode(key: str) -> StripeMode | None:
    """ "test" or "live" from a Stripe key's prefix (`sk_`, `rk_`, `pk_`), else None."""
    for kind in ("sk", "rk", "pk"):
        if key.startswith(f"{kind}_test_"):
            return "test"
        if key.startswith(f"{kind}_live_"):
            return "live"
    return None


def account_display_name(account: Mapping[str, Any]) -> str | None:
    """The business name of a Stripe account object, else its dashboard display name."""
    profile = account.get("business_profile") or {}
    dashboard = (account.get("settings") or {}).get("dashboard") or {}
    return profile.get("name") or dashboard.get("display_name") or None


class StripeAdapter(ProviderAdapter):
    """Stripe with a secret/restricted key or a Stripe Connect OAuth access token."""

    name = "stripe"
    label = "Stripe"
    default_base_url = "https://api.stripe.com/v1"
    credentials_help = (
        "A secret key (sk_test_… or sk_live_…) or a restricted key (rk_test_… or rk_live_…) "
        "with read access, from the Stripe Dashboard under Developers → API keys."
    )
    default_headers = MappingProxyType({"Stripe-Version": STRIPE_API_VERSION})
    pages_lists = True

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.token()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        token = credentials.token()
        if not token:
            return "Enter a Stripe secret key or connect Stripe."
        if credentials.auth_method == "oauth":
            if len(token) < _MIN_OAUTH_TOKEN_LENGTH or any(char.isspace() for char in token):
                return "The Stripe access token looks damaged. Reconnect Stripe."
            return None
        if token.startswith("pk_"):
            return (
                "This is a publishable key (pk_…), which can only be used in a browser. "
                "Use a secret key (sk_…) or a restricted key (rk_…) from the Stripe Dashboard."
            )
        if not token.startswith(SECRET_KEY_PREFIXES) or token in SECRET_KEY_PREFIXES:
            return (
                "That does not look like a Stripe secret key. It should start with "
                "sk_test_, sk_live_, rk_test_ or rk_live_."
            )
        if any(char.isspace() for char in token):
            return "The Stripe key contains spaces or line breaks. Copy it again without them."
        return None

    def mode(self, credentials: ProviderCredentials) -> StripeMode | None:
        """Test or live: from the token's livemode for OAuth, else from the key prefix."""
        if credentials.auth_method == "oauth":
            if credentials.livemode is None:
                return None
            return "live" if credentials.livemode else "test"
        return stripe_key_mode(credentials.token())

    def encode_params(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return encode_stripe_form(params)

    def encode_body(self, body: Mapping[str, Any]) -> tuple[bytes, str]:
        return urlencode(encode_stripe_form(body)).encode(), "application/x-www-form-urlencoded"

    def extra_request_headers(self, options: RequestOptions) -> dict[str, str]:
        # One key per call, reused by every retry of it, so a retried POST acts once.
        if options.method.upper() == "POST":
            return {"Idempotency-Key": str(uuid.uuid4())}
        return {}

    def parse_error(self, response: httpx.Response) -> ApiError:
        payload = json_or_none(response)
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        status = response.status_code
        details = {
            "type": error.get("type"),
            "code": error.get("code"),
            "decline_code": error.get("decline_code"),
            "param": error.get("param"),
            "request_id": response.headers.get("Request-Id"),
        }
        message: str | None = None
        if status == 401:
            message = (
                "Stripe rejected the API key: it may have been revoked, rolled or mistyped. "
                "Reconnect Stripe with a valid secret or restricted key."
            )
        elif status == 402 or error.get("type") == "card_error":
            message = "Stripe could not complete the payment."
        elif status == 403:
            message = (
                "This Stripe key is not allowed to read this. If it is a restricted key, give it "
                "read access in the Stripe Dashboard, or reconnect with another key."
            )
        said = error.get("message")
        return self.make_error(
            error_code_for_status(status),
            provider_message=said if isinstance(said, str) else None,
            message=message,
            status=status,
            details=details,
        )

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Read `/account`; for a restricted key that may not, prove access with a tiny list."""
        mode = self.mode(credentials)
        account = self.request(credentials, RequestOptions(endpoint="/account"))
        if account.success and isinstance(account.data, dict):
            return ConnectionTestResult(
                success=True,
                account_id=account.data.get("id"),
                account_name=account_display_name(account.data),
                email=account.data.get("email"),
                mode=mode,
                details={"checked": "/account"},
            )
        last = account
        for endpoint in _FALLBACK_PROBES:
            if last.error is None or last.error.code != ErrorCode.FORBIDDEN:
                break
            last = self.request(credentials, RequestOptions(endpoint=endpoint, params={"limit": 1}))
            if last.success:
                return ConnectionTestResult(
                    success=True,
                    account_id=credentials.account_id,
                    mode=mode,
                    details={"note": RESTRICTED_KEY_NOTE, "checked": endpoint},
                )
        return self.connection_failure(last.error)

    def iter_pages(
        self,
        credentials: ProviderCredentials,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        starting_after: str | None = None,
    ) -> Iterator[ApiResponse[dict[str, Any]]]:
        """Each page of a Stripe list (the full list object), following `starting_after`.

        Stops after a page whose `has_more` is false, or after a failed page (yielded too).
        """
        cursor = starting_after
        while True:
            page = self.list_page(
                credentials, endpoint, params, page_size=page_size, starting_after=cursor
            )
            yield page
            if not page.success or page.data is None or not page.data.get("has_more"):
                return
            cursor = page.data["data"][-1].get("id") if page.data["data"] else None
            if not cursor:
                return

    def list_page(
        self,
        credentials: ProviderCredentials,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        starting_after: str | None = None,
    ) -> ApiResponse[dict[str, Any]]:
        """One page of a Stripe list (the full list object): the `page_size` objects after
        `starting_after`, or the first ones. A body that is not a list object is a failure."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        query: dict[str, Any] = {**(params or {}), "limit": page_size}
        if starting_after:
            query["starting_after"] = starting_after
        return self._list_page(credentials, endpoint, query)

    def list_all(
        self,
        credentials: ProviderCredentials,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        cap: int = 10_000,
        page_size: int = MAX_PAGE_SIZE,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ApiResponse[list[dict[str, Any]]]:
        """Every item of a Stripe list, in Stripe's order, de-duplicated by id, at most `cap`.

        `on_progress(pages, items)` runs after every page read. On a failure part-way the
        response has `success=False`, the error, and the items read so far in `data`.
        `attempts` is the total over all pages.
        """
        if cap < 1:
            raise ValueError("cap must be at least 1")
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = attempts = 0
        last: ApiResponse[dict[str, Any]] | None = None
        for page in self.iter_pages(credentials, endpoint, params, page_size=min(page_size, cap)):
            attempts += page.attempts
            last = page
            if not page.success or page.data is None:
                break
            pages += 1
            for item in page.data["data"]:
                item_id = item.get("id")
                if item_id in seen:
                    continue
                if item_id is not None:
                    seen.add(item_id)
                items.append(item)
                if len(items) >= cap:
                    break
            if on_progress is not None:
                on_progress(pages, len(items))
            if len(items) >= cap:
                break
        failed = last is not None and not last.success
        return ApiResponse(
            success=not failed,
            data=items,
            error=last.error if last is not None else None,
            rate_limit=last.rate_limit if last is not None else None,
            status=last.status if last is not None else None,
            attempts=attempts,
        )

    def _list_page(
        self, credentials: ProviderCredentials, endpoint: str, query: dict[str, Any]
    ) -> ApiResponse[dict[str, Any]]:
        page = self.request(credentials, RequestOptions(endpoint=endpoint, params=query))
        if not page.success:
            return page
        data = page.data
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            return page
        return ApiResponse(
            success=False,
            error=self.make_error(
                ErrorCode.PROVIDER_ERROR,
                message=f"Stripe's answer for {endpoint} was not a list. Try again later.",
                status=page.status,
            ),
            status=page.status,
            attempts=page.attempts,
            rate_limited=page.rate_limited,
        )
