"""GitHub REST API adapter (personal access, OAuth, user-to-server and app tokens)."""

from __future__ import annotations

from types import MappingProxyType

import httpx

from lib.providers.base import (
    ProviderAdapter,
    extract_provider_message,
    json_or_none,
    prefixed_token_problem,
)
from lib.providers.http import parse_retry_after
from lib.providers.types import (
    ApiError,
    ConnectionTestResult,
    ErrorCode,
    ProviderCredentials,
    RateLimitInfo,
    RequestOptions,
)

TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "github_pat_")


def _header_number(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class GitHubAdapter(ProviderAdapter):
    """GitHub with a token sent as `Authorization: Bearer`."""

    name = "github"
    label = "GitHub"
    default_base_url = "https://api.github.com"
    credentials_help = (
        "A personal access token (github_pat_… fine-grained, or ghp_… classic) from GitHub "
        "Settings → Developer settings, or connect with GitHub OAuth."
    )
    default_headers = MappingProxyType(
        {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    )

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.token()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        return prefixed_token_problem(
            credentials.token(), TOKEN_PREFIXES, self.label, "github_pat_, ghp_, gho_, ghu_ or ghs_"
        )

    def parse_rate_limit(self, headers: httpx.Headers) -> RateLimitInfo | None:
        """GitHub's `X-RateLimit-Limit/Remaining/Reset` (reset as a Unix time) and `Retry-After`."""
        limit = _header_number(headers, "X-RateLimit-Limit")
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset = _header_number(headers, "X-RateLimit-Reset")
        retry_after = parse_retry_after(headers)
        if limit is None and remaining is None and reset is None and retry_after is None:
            return None
        return RateLimitInfo(
            limit=limit,
            remaining=remaining,
            reset_at=float(reset) if reset is not None else None,
            retry_after=retry_after,
        )

    def parse_error(self, response: httpx.Response) -> ApiError:
        # GitHub reports primary and secondary rate limits as 403 with these headers.
        exhausted = response.headers.get("X-RateLimit-Remaining") == "0"
        if response.status_code == 403 and (exhausted or "Retry-After" in response.headers):
            return self.make_error(
                ErrorCode.RATE_LIMITED,
                provider_message=extract_provider_message(json_or_none(response)),
                status=403,
            )
        return super().parse_error(response)

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Read `/user`: id, name (else login) and public email of the token's owner."""
        user = self.request(credentials, RequestOptions(endpoint="/user"))
        if not user.success or not isinstance(user.data, dict):
            return self.connection_failure(user.error)
        user_id = user.data.get("id")
        return ConnectionTestResult(
            success=True,
            account_id=str(user_id) if user_id is not None else None,
            account_name=user.data.get("name") or user.data.get("login"),
            email=user.data.get("email"),
            details={"login": user.data.get("login")},
        )
