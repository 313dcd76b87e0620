"""Provider adapters: one typed request path (retries, error mapping, redaction) per API."""

from lib.providers.base import ProviderAdapter
from lib.providers.calendar import CalendarAdapter
from lib.providers.github import GitHubAdapter
from lib.providers.http import RetryPolicy, SendResult, send
from lib.providers.jira import JiraAdapter
from lib.providers.linear import LinearAdapter
from lib.providers.masking import mask_secret, redact_secrets
from lib.providers.registry import (
    ADAPTERS,
    UnknownProviderError,
    credentials_help,
    get_adapter,
    provider_label,
)
from lib.providers.slack import SlackAdapter
from lib.providers.stripe import StripeAdapter, StripeMode, stripe_key_mode
from lib.providers.stripe_form import encode_stripe_form
from lib.providers.twilio import TwilioAdapter
from lib.providers.types import (
    PROVIDERS,
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

__all__ = [
    "ADAPTERS",
    "PROVIDERS",
    "ApiError",
    "ApiResponse",
    "CalendarAdapter",
    "ConnectionTestResult",
    "ErrorAction",
    "ErrorCode",
    "GitHubAdapter",
    "JiraAdapter",
    "LinearAdapter",
    "ProviderAdapter",
    "ProviderCredentials",
    "ProviderName",
    "RateLimitInfo",
    "RequestOptions",
    "RetryPolicy",
    "SendResult",
    "SlackAdapter",
    "StripeAdapter",
    "StripeMode",
    "TwilioAdapter",
    "UnknownProviderError",
    "credentials_help",
    "encode_stripe_form",
    "get_adapter",
    "mask_secret",
    "provider_label",
    "redact_secrets",
    "send",
    "stripe_key_mode",
]
