"""Linear GraphQL API adapter (personal API keys and OAuth tokens)."""

from __future__ import annotations

from typing import Any

import httpx

from lib.providers.base import ProviderAdapter, error_code_for_status, json_or_none
from lib.providers.types import (
    ApiError,
    ConnectionTestResult,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)

GRAPHQL_ENDPOINT = "/graphql"
VIEWER_QUERY = "{ viewer { id name email } }"
API_KEY_PREFIX = "lin_api_"
# Linear's `extensions.code` / `extensions.type` values and what they mean for the user.
_GRAPHQL_CODES: dict[str, ErrorCode] = {
    "AUTHENTICATION_ERROR": ErrorCode.UNAUTHORIZED,
    "authentication error": ErrorCode.UNAUTHORIZED,
    "FORBIDDEN": ErrorCode.FORBIDDEN,
    "forbidden": ErrorCode.FORBIDDEN,
    "RATELIMITED": ErrorCode.RATE_LIMITED,
    "ratelimited": ErrorCode.RATE_LIMITED,
    "INVALID_INPUT": ErrorCode.INVALID_REQUEST,
    "invalid input": ErrorCode.INVALID_REQUEST,
    "GRAPHQL_VALIDATION_FAILED": ErrorCode.INVALID_REQUEST,
    "graphql error": ErrorCode.INVALID_REQUEST,
}


class LinearAdapter(ProviderAdapter):
    """Linear: personal keys sent as `Authorization: <key>`, OAuth tokens as Bearer."""

    name = "linear"
    label = "Linear"
    default_base_url = "https://api.linear.app"
    credentials_help = (
        "A personal API key (lin_api_…) from Linear Settings → Security & access, "
        "or connect with Linear OAuth."
    )

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        if credentials.auth_method == "oauth":
            return {"Authorization": f"Bearer {credentials.token()}"}
        return {"Authorization": credentials.token()}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        token = credentials.token()
        if any(char.isspace() for char in token):
            return "The Linear key contains spaces or line breaks. Copy it again without them."
        if credentials.auth_method == "api_key" and (
            not token.startswith(API_KEY_PREFIX) or token == API_KEY_PREFIX
        ):
            return "That does not look like a Linear API key. It should start with lin_api_."
        return None

    def replay_safe(self, options: RequestOptions) -> bool | None:
        # A GraphQL query only reads; only a mutation must not be sent twice.
        query = (options.body or {}).get("query")
        if options.endpoint == GRAPHQL_ENDPOINT and isinstance(query, str):
            return not query.lstrip().startswith("mutation")
        return None

    def error_in_body(self, response: httpx.Response, data: Any) -> ApiError | None:
        if isinstance(data, dict) and data.get("errors"):
            return self.graphql_error(data["errors"], response.status_code)
        return None

    def parse_error(self, response: httpx.Response) -> ApiError:
        payload = json_or_none(response)
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            return self.graphql_error(payload["errors"], response.status_code)
        return super().parse_error(response)

    def graphql_error(self, errors: list[Any], status: int) -> ApiError:
        """The `ApiError` for a GraphQL `errors` list (its first entry decides the code)."""
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        extensions = first.get("extensions") or {}
        kind = extensions.get("code") or extensions.get("type")
        code = _GRAPHQL_CODES.get(str(kind)) if kind else None
        if code is None:
            code = error_code_for_status(status) if status >= 400 else ErrorCode.PROVIDER_ERROR
        said = extensions.get("userPresentableMessage") or first.get("message")
        return self.make_error(
            code,
            provider_message=said if isinstance(said, str) else None,
            status=status,
            details={"graphql_code": extensions.get("code"), "type": extensions.get("type")},
        )

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Query `viewer`: the user's id, name and email."""
        answer = self.request(
            credentials,
            RequestOptions(endpoint=GRAPHQL_ENDPOINT, method="POST", body={"query": VIEWER_QUERY}),
        )
        viewer = ((answer.data or {}).get("data") or {}).get("viewer") if answer.success else None
        if not isinstance(viewer, dict):
            return self.connection_failure(answer.error)
        return ConnectionTestResult(
            success=True,
            account_id=viewer.get("id"),
            account_name=viewer.get("name"),
            email=viewer.get("email"),
        )
