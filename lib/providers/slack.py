"""Slack Web API adapter (bot and user tokens)."""

from __future__ import annotations

from typing import Any

import httpx

from lib.providers.base import ProviderAdapter, prefixed_token_problem
from lib.providers.types import (
    ApiError,
    ConnectionTestResult,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)

TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxe.xoxp-")
# Slack answers HTTP 200 with `{"ok": false, "error": ...}`; these errors mean "reconnect".
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
# Method-name endings of Slack Web API calls that only read.
_READ_METHOD_SUFFIXES = frozenset({"test", "list", "info", "history", "replies"})


class SlackAdapter(ProviderAdapter):
    """Slack with a bot (xoxb-) or user (xoxp-) token sent as Bearer."""

    name = "slack"
    label = "Slack"
    default_base_url = "https://slack.com/api"
    credentials_help = (
        "A bot token (xoxb-…) or user token (xoxp-…) from your Slack app's "
        "OAuth & Permissions page, or connect with Slack OAuth."
    )

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.token()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        return prefixed_token_problem(
            credentials.token(), TOKEN_PREFIXES, self.label, "xoxb- (bot) or xoxp- (user)"
        )

    def replay_safe(self, options: RequestOptions) -> bool | None:
        # Slack methods are all POSTs; those named *.list, *.info, auth.test... only read.
        method_name = options.endpoint.rstrip("/").rsplit("/", 1)[-1]
        return True if method_name.rsplit(".", 1)[-1] in _READ_METHOD_SUFFIXES else None

    def error_in_body(self, response: httpx.Response, data: Any) -> ApiError | None:
        if isinstance(data, dict) and data.get("ok") is False:
            return self.slack_error(str(data.get("error") or "unknown_error"), data)
        return None

    def slack_error(self, slack_code: str, data: dict[str, Any]) -> ApiError:
        """The `ApiError` for Slack's `error` string in an `ok: false` answer."""
        if slack_code in AUTH_ERRORS:
            code = ErrorCode.UNAUTHORIZED
        elif slack_code == "ratelimited":
            code = ErrorCode.RATE_LIMITED
        elif slack_code == "missing_scope":
            code = ErrorCode.FORBIDDEN
        else:
            code = ErrorCode.PROVIDER_ERROR
        details: dict[str, Any] = {"slack_error": slack_code}
        if data.get("needed"):
            details["needed_scope"] = data["needed"]
        return self.make_error(code, provider_message=slack_code, status=200, details=details)

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Call `auth.test`: workspace id and name, plus the token's user."""
        answer = self.request(credentials, RequestOptions(endpoint="/auth.test", method="POST"))
        if not answer.success or not isinstance(answer.data, dict):
            return self.connection_failure(answer.error)
        return ConnectionTestResult(
            success=True,
            account_id=answer.data.get("team_id"),
            account_name=answer.data.get("team"),
            details={
                "user": answer.data.get("user"),
                "user_id": answer.data.get("user_id"),
                "url": answer.data.get("url"),
            },
        )
