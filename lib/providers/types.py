"""Types shared by every provider adapter (the seed guide's `lib/providers/types`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

ProviderName = Literal["github", "jira", "linear", "slack", "calendar", "stripe", "twilio"]
PROVIDERS: tuple[ProviderName, ...] = (
    "github",
    "jira",
    "linear",
    "slack",
    "calendar",
    "stripe",
    "twilio",
)

T = TypeVar("T")


class ErrorCode(StrEnum):
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_REQUEST = "INVALID_REQUEST"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    NETWORK_ERROR = "NETWORK_ERROR"


class ErrorAction(StrEnum):
    RECONNECT = "reconnect"
    RETRY = "retry"
    CONTACT_SUPPORT = "contact-support"


class ProviderCredentials(BaseModel):
    """What an adapter needs to authenticate. Secret fields never print in clear."""

    model_config = ConfigDict(frozen=True)

    pat: SecretStr | None = None
    """API key or OAuth access token (the seed guide's `pat`)."""
    auth_method: Literal["api_key", "oauth"] = "api_key"
    refresh_token: SecretStr | None = None
    account_id: str | None = None
    """Stripe `stripe_user_id` (Connect), Twilio account SID."""
    email: str | None = None
    """Jira Cloud basic auth user."""
    site: str | None = None
    """Jira Cloud site, e.g. `acme.atlassian.net`."""
    publishable_key: str | None = None
    scope: str | None = None
    livemode: bool | None = None

    def token(self) -> str:
        """The clear-text token, for building an auth header only."""
        return self.pat.get_secret_value() if self.pat is not None else ""


@dataclass(frozen=True)
class ApiError:
    """A failure as the UI shows it: what happened, whether retrying helps, what to do."""

    code: ErrorCode
    message: str
    provider: str
    retryable: bool
    action: ErrorAction
    status: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitInfo:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class RequestOptions:
    endpoint: str
    method: str = "GET"
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class ApiResponse(Generic[T]):
    success: bool
    data: T | None = None
    error: ApiError | None = None
    rate_limit: RateLimitInfo | None = None
    status: int | None = None
    attempts: int = 1
    rate_limited: int = 0
    """How many attempts were answered 429 Too Many Requests (retried or not)."""


@dataclass(frozen=True)
class ConnectionTestResult:
    success: bool
    account_id: str | None = None
    account_name: str | None = None
    email: str | None = None
    mode: Literal["test", "live"] | None = None
    error: ApiError | None = None
    details: dict[str, Any] = field(default_factory=dict)
