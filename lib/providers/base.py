"""`ProviderAdapter`: the one typed path from credentials and options to an `ApiResponse`."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self

import httpx

from lib.providers.http import (
    DEFAULT_TIMEOUT_SECONDS,
    RetryPolicy,
    Sleep,
    make_timeout,
    parse_retry_after,
    send,
    shared_ssl_context,
)
from lib.providers.masking import scrub_error
from lib.providers.types import (
    ApiError,
    ApiResponse,
    ConnectionTestResult,
    ErrorAction,
    ErrorCode,
    ProviderCredentials,
    ProviderName,
    RateLimitInfo,
    RequestOptions,
)

# Whether retrying can help and what the person should do, per error code.
ERROR_POLICY: dict[ErrorCode, tuple[bool, ErrorAction]] = {
    ErrorCode.MISSING_CREDENTIALS: (False, ErrorAction.RECONNECT),
    ErrorCode.INVALID_CREDENTIALS: (False, ErrorAction.RECONNECT),
    ErrorCode.UNAUTHORIZED: (False, ErrorAction.RECONNECT),
    ErrorCode.FORBIDDEN: (False, ErrorAction.RECONNECT),
    ErrorCode.NOT_FOUND: (False, ErrorAction.CONTACT_SUPPORT),
    ErrorCode.RATE_LIMITED: (True, ErrorAction.RETRY),
    ErrorCode.INVALID_REQUEST: (False, ErrorAction.CONTACT_SUPPORT),
    ErrorCode.PROVIDER_ERROR: (True, ErrorAction.RETRY),
    ErrorCode.NETWORK_ERROR: (True, ErrorAction.RETRY),
}
_MAX_PROVIDER_MESSAGE = 500


def error_code_for_status(status: int) -> ErrorCode:
    """The code for a failed status: other 4xx are invalid requests, the rest provider errors."""
    if status == 401:
        return ErrorCode.UNAUTHORIZED
    if status == 403:
        return ErrorCode.FORBIDDEN
    if status == 404:
        return ErrorCode.NOT_FOUND
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if 400 <= status < 500:
        return ErrorCode.INVALID_REQUEST
    return ErrorCode.PROVIDER_ERROR


def plain_message(code: ErrorCode, label: str) -> str:
    """What happened, in words a business user understands, for `code` at provider `label`."""
    return {
        ErrorCode.MISSING_CREDENTIALS: f"No {label} credentials are saved. Connect {label} first.",
        ErrorCode.INVALID_CREDENTIALS: f"The saved {label} credentials are not valid. "
        f"Reconnect {label}.",
        ErrorCode.UNAUTHORIZED: f"{label} rejected the saved credentials. "
        f"Reconnect {label} to continue.",
        ErrorCode.FORBIDDEN: f"The connected {label} account is not allowed to do this. "
        f"Reconnect {label} with the access it needs.",
        ErrorCode.NOT_FOUND: f"{label} could not find what was asked for. "
        "It may have been deleted or belong to another account.",
        ErrorCode.RATE_LIMITED: f"{label} is receiving too many requests right now. "
        "Wait a moment and try again.",
        ErrorCode.INVALID_REQUEST: f"{label} did not accept the request.",
        ErrorCode.PROVIDER_ERROR: f"{label} had a problem answering. Try again in a few minutes.",
        ErrorCode.NETWORK_ERROR: f"Could not reach {label}. "
        "Check the internet connection and try again.",
    }[code]


def extract_provider_message(payload: Any) -> str | None:
    """The provider's own error text from the common JSON error shapes, or None."""
    if not isinstance(payload, dict):
        return None
    found: str | None = None
    error = payload.get("error")
    errors = payload.get("errors")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        found = error["message"]
    elif isinstance(payload.get("message"), str):
        found = payload["message"]
    elif isinstance(error, str):
        description = payload.get("error_description")
        found = f"{error}: {description}" if isinstance(description, str) else error
    elif isinstance(payload.get("errorMessages"), list) and payload["errorMessages"]:
        found = "; ".join(str(item) for item in payload["errorMessages"])
    elif isinstance(errors, list) and errors and isinstance(errors[0], dict):
        found = errors[0].get("message") if isinstance(errors[0].get("message"), str) else None
    elif isinstance(errors, dict) and errors:
        found = "; ".join(f"{key}: {value}" for key, value in errors.items())
    return found[:_MAX_PROVIDER_MESSAGE] if found else None


def prefixed_token_problem(
    token: str, prefixes: tuple[str, ...], label: str, expected_start: str
) -> str | None:
    """None when `token` starts with one of `prefixes` (and is more than it) and has no
    whitespace; else what is wrong, in plain words (`expected_start` lists the prefixes)."""
    if not token.startswith(prefixes) or token in prefixes:
        return f"That does not look like a {label} token. It should start with {expected_start}."
    if any(char.isspace() for char in token):
        return f"The {label} token contains spaces or line breaks. Copy it again without them."
    return None


def form_pairs(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flat form/query pairs: None omitted, booleans `true`/`false`, lists as repeated keys."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, _scalar_text(item)) for item in values if item is not None)
    return pairs


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_or_none(response: httpx.Response) -> Any:
    """The response body as JSON, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class ProviderAdapter(ABC):
    """Talks to one provider's HTTP API; every failure comes back as an `ApiError` value.

    Subclasses set `name`, `label`, `default_base_url`, `credentials_help`, implement
    `auth_headers`, `validate_credentials` and `test_connection`, and override the encoding
    and error hooks where their API differs.
    """

    name: ClassVar[ProviderName]
    label: ClassVar[str]
    default_base_url: ClassVar[str]
    credentials_help: ClassVar[str]
    default_headers: ClassVar[Mapping[str, str]] = MappingProxyType({})
    pages_lists: ClassVar[bool] = False
    """Whether `list_all` follows the provider's list cursors (adapters that do override it)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.base_url_override = base_url.rstrip("/") if base_url else None
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport, timeout=make_timeout(timeout), verify=shared_ssl_context()
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.resolve_base_url(None)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    @abstractmethod
    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        """The headers that authenticate a request with `credentials`."""

    @abstractmethod
    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        """None when `credentials` look usable, else what is wrong in plain words."""

    @abstractmethod
    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Ask the provider who these credentials belong to; never raises for API failures."""

    def list_all(
        self,
        credentials: ProviderCredentials,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        cap: int = 10_000,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ApiResponse[list[dict[str, Any]]]:
        """Every item of a list endpoint, page after page, at most `cap`.

        Adapters whose provider pages its lists by cursor override this (and set
        `pages_lists`); here it sends nothing and answers `success=False` with an
        INVALID_REQUEST error saying the provider's lists are not read page by page.
        """
        return ApiResponse(
            success=False,
            error=self.make_error(
                ErrorCode.INVALID_REQUEST,
                message=f"{self.label} lists cannot be read page by page here; "
                "ask for a single page instead.",
                details={"unsupported": "paging"},
            ),
            attempts=0,
        )

    def resolve_base_url(self, credentials: ProviderCredentials | None) -> str:
        """The API root for `credentials` (the constructor's `base_url` wins when given)."""
        return self.base_url_override or self.default_base_url

    def encode_params(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Query string pairs for `params`."""
        return form_pairs(params)

    def encode_body(self, body: Mapping[str, Any]) -> tuple[bytes, str]:
        """The request body bytes and their Content-Type (JSON unless overridden)."""
        return json.dumps(body, separators=(",", ":")).encode(), "application/json"

    def extra_request_headers(self, options: RequestOptions) -> dict[str, str]:
        """Per-request headers the provider needs beyond auth (caller's headers still win)."""
        return {}

    def replay_safe(self, options: RequestOptions) -> bool | None:
        """Whether repeating this request is harmless; None lets the method decide."""
        return None

    def parse_rate_limit(self, headers: httpx.Headers) -> RateLimitInfo | None:
        """Rate-limit details from response headers (here only `Retry-After`)."""
        retry_after = parse_retry_after(headers)
        return None if retry_after is None else RateLimitInfo(retry_after=retry_after)

    def parse_error(self, response: httpx.Response) -> ApiError:
        """The `ApiError` for a response with a failed status."""
        return self.make_error(
            error_code_for_status(response.status_code),
            provider_message=extract_provider_message(json_or_none(response)),
            status=response.status_code,
        )

    def error_in_body(self, response: httpx.Response, data: Any) -> ApiError | None:
        """A failure reported inside a 2xx body (Slack `ok: false`, GraphQL `errors`), or None."""
        return None

    def make_error(
        self,
        code: ErrorCode,
        *,
        provider_message: str | None = None,
        message: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> ApiError:
        """An `ApiError` with the code's retry policy: `message` (or the plain words for `code`)
        followed by what the provider said."""
        retryable, action = ERROR_POLICY[code]
        text = message or plain_message(code, self.label)
        if provider_message:
            text = f'{text} {self.label} said: "{provider_message}"'
        return ApiError(
            code=code,
            message=text,
            provider=self.name,
            retryable=retryable,
            action=action,
            status=status,
            details=details or {},
        )

    def build_request(
        self, credentials: ProviderCredentials, options: RequestOptions
    ) -> httpx.Request:
        """The HTTP request for `options`: base URL + endpoint, encoded params and body, headers."""
        if not options.endpoint.startswith("/"):
            raise ValueError(f"endpoint must start with '/': {options.endpoint!r}")
        url = httpx.URL(self.resolve_base_url(credentials) + options.endpoint)
        if options.params:
            url = url.copy_merge_params(self.encode_params(options.params))
        headers = {
            **self.default_headers,
            **self.auth_headers(credentials),
            **self.extra_request_headers(options),
        }
        content: bytes | None = None
        if options.body is not None:
            content, headers["Content-Type"] = self.encode_body(options.body)
        headers.update(options.headers or {})
        return httpx.Request(options.method.upper(), url, headers=headers, content=content)

    def request(
        self, credentials: ProviderCredentials, options: RequestOptions
    ) -> ApiResponse[Any]:
        """Call the provider; HTTP and network failures come back as `success=False` with an
        `ApiError` whose message and details never contain the credentials."""
        if not credentials.token():
            return ApiResponse(success=False, error=self.make_error(ErrorCode.MISSING_CREDENTIALS))
        problem = self.validate_credentials(credentials)
        if problem:
            error = self.make_error(ErrorCode.INVALID_CREDENTIALS, message=problem)
            return ApiResponse(success=False, error=scrub_error(error, [credentials.token()]))
        result = send(
            self._client,
            self.build_request(credentials, options),
            policy=self.retry,
            provider=self.name,
            label=self.label,
            sleep=self._sleep,
            replay_safe=self.replay_safe(options),
        )
        response = result.response
        if response is None:
            error = result.error or self.make_error(ErrorCode.NETWORK_ERROR)
            return ApiResponse(
                success=False,
                error=scrub_error(error, self.secrets_of(credentials)),
                attempts=result.attempts,
                rate_limited=result.rate_limited,
            )
        data: Any = None
        if not response.is_success:
            error = self.parse_error(response)
        else:
            data, error = self._decode(response)
        if error is None:
            error = self.error_in_body(response, data)
        return ApiResponse(
            success=error is None,
            data=data if error is None else None,
            error=None if error is None else scrub_error(error, self.secrets_of(credentials)),
            rate_limit=self.parse_rate_limit(response.headers),
            status=response.status_code,
            attempts=result.attempts,
            rate_limited=result.rate_limited,
        )

    def secrets_of(self, credentials: ProviderCredentials) -> tuple[str, ...]:
        """Every clear-text secret these credentials carry, to redact from errors."""
        secrets = [credentials.token()]
        if credentials.refresh_token is not None:
            secrets.append(credentials.refresh_token.get_secret_value())
        for value in self.auth_headers(credentials).values():
            secrets.extend([value, value.partition(" ")[2]])
        return tuple(secret for secret in secrets if len(secret) >= 4)

    def connection_failure(self, error: ApiError | None) -> ConnectionTestResult:
        """A failed `ConnectionTestResult` carrying `error`."""
        return ConnectionTestResult(
            success=False, error=error or self.make_error(ErrorCode.PROVIDER_ERROR)
        )

    def _decode(self, response: httpx.Response) -> tuple[Any, ApiError | None]:
        if not response.content:
            return None, None
        try:
            return response.json(), None
        except ValueError:
            return None, self.make_error(
                ErrorCode.PROVIDER_ERROR,
                message=f"{self.label} answered in an unexpected format. Try again later.",
                status=response.status_code,
            )
