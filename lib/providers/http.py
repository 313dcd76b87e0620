"""The one request path every provider adapter uses: send, retry with backoff, count attempts."""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from lib.providers.masking import redact_secrets
from lib.providers.types import ApiError, ErrorAction, ErrorCode

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0
CONNECT_TIMEOUT_SECONDS = 5.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Methods a server must treat as safe to repeat; POST/PATCH are only with an Idempotency-Key.
REPLAY_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures that happen before a single byte of the request reached the server.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: full-jitter exponential backoff, capped."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, failed_attempts: int) -> float:
        """A random wait in [0, min(max_delay, base_delay * 2**(failed_attempts - 1))]."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))
        return random.uniform(0.0, ceiling)


@dataclass(frozen=True)
class SendResult:
    """The final response (any status), or a NETWORK_ERROR when no response arrived."""

    response: httpx.Response | None
    error: ApiError | None
    attempts: int
    rate_limited: int = 0
    """How many of the attempts were answered 429 (a caller sharing the limit slows down)."""


def make_timeout(total: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.Timeout:
    """httpx timeouts: `total` for each read/write/pool wait, at most 5 s to connect."""
    return httpx.Timeout(total, connect=min(CONNECT_TIMEOUT_SECONDS, total))


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR) shared by all clients."""
    # Loading the CA bundle costs about 60 ms; doing it once keeps new adapters cheap.
    return httpx.create_ssl_context()


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or HTTP date), else None."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def is_replay_safe(request: httpx.Request) -> bool:
    """True when repeating `request` cannot do the same thing twice."""
    return request.method in REPLAY_SAFE_METHODS or "Idempotency-Key" in request.headers


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    provider: str,
    label: str | None = None,
    sleep: Sleep = time.sleep,
    replay_safe: bool | None = None,
) -> SendResult:
    """Send `request`, retrying transient failures; never raises for HTTP or network failures.

    Retries network errors, 429 and 500/502/503/504 with capped full-jitter backoff, waiting at
    least `Retry-After` (no retry when that exceeds `policy.max_delay`). `Stripe-Should-Retry:
    false` stops retries; `true` retries any failed status. A request that is not replay-safe
    (POST/PATCH without an Idempotency-Key, unless `replay_safe=True`) is retried only when the
    server certainly did not act on it: connection failures, 429, or `Stripe-Should-Retry: true`.
    At most `policy.max_attempts` attempts are made.
    """
    safe = is_replay_safe(request) if replay_safe is None else replay_safe
    attempts = rate_limited = 0
    while True:
        attempts += 1
        try:
            response = client.send(request)
        except httpx.RequestError as exc:
            transient = isinstance(exc, httpx.TransportError)
            may_retry = transient and (safe or isinstance(exc, _NOT_SENT_ERRORS))
            if not may_retry or attempts >= policy.max_attempts:
                error = network_error(exc, provider, label)
                return SendResult(None, error, attempts, rate_limited)
            delay = policy.backoff(attempts)
            _log_retry(provider, request, type(exc).__name__, delay, attempts, policy)
            sleep(delay)
            continue
        rate_limited += response.status_code == 429
        delay = retry_delay(response, attempts, policy, replay_safe=safe)
        if delay is None or attempts >= policy.max_attempts:
            return SendResult(response, None, attempts, rate_limited)
        response.close()
        _log_retry(provider, request, str(response.status_code), delay, attempts, policy)
        sleep(delay)


def retry_delay(
    response: httpx.Response, failed_attempts: int, policy: RetryPolicy, *, replay_safe: bool
) -> float | None:
    """How long to wait before retrying after `response`, or None when it must not be retried."""
    status = response.status_code
    if status < 400:
        return None
    should_retry = response.headers.get("Stripe-Should-Retry", "").strip().lower()
    if should_retry == "false":
        return None
    wanted = should_retry == "true" or (
        status in RETRYABLE_STATUSES and (replay_safe or status == 429)
    )
    if not wanted:
        return None
    retry_after = parse_retry_after(response.headers)
    if retry_after is None:
        return policy.backoff(failed_attempts)
    if retry_after > policy.max_delay:
        return None
    return max(retry_after, policy.backoff(failed_attempts))


def network_error(exc: httpx.RequestError, provider: str, label: str | None = None) -> ApiError:
    """A NETWORK_ERROR in plain words for a request that got no usable response."""
    if isinstance(exc, httpx.TimeoutException):
        what = "the request timed out"
    elif isinstance(exc, httpx.ConnectError):
        what = "the connection could not be made"
    elif isinstance(exc, httpx.DecodingError):
        what = "the answer arrived damaged"
    else:
        what = "the connection broke off"
    return ApiError(
        code=ErrorCode.NETWORK_ERROR,
        message=f"Could not reach {label or provider}: {what}. "
        "Check the internet connection and try again.",
        provider=provider,
        retryable=True,
        action=ErrorAction.RETRY,
        details={"reason": type(exc).__name__, "detail": redact_secrets(str(exc))},
    )


def _log_retry(
    provider: str,
    request: httpx.Request,
    failure: str,
    delay: float,
    attempts: int,
    policy: RetryPolicy,
) -> None:
    logger.info(
        "%s %s %s failed (%s); retry %d of %d in %.2f s",
        provider,
        request.method,
        request.url.path,
        failure,
        attempts,
        policy.max_attempts - 1,
        delay,
    )
