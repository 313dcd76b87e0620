"""Google Calendar API adapter (OAuth access token)."""

from __future__ import annotations

import httpx

from lib.providers.base import ProviderAdapter, error_code_for_status, json_or_none
from lib.providers.types import (
    ApiError,
    ConnectionTestResult,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)

# Google reports quota exhaustion as 403 with one of these reasons.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class CalendarAdapter(ProviderAdapter):
    """Google Calendar with an OAuth access token sent as Bearer."""

    name = "calendar"
    label = "Google Calendar"
    default_base_url = "https://www.googleapis.com/calendar/v3"
    credentials_help = (
        "Connect with your Google account (OAuth); the dashboard only reads your calendars."
    )

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.token()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        if any(char.isspace() for char in credentials.token()):
            return "The Google access token looks damaged. Reconnect Google Calendar."
        return None

    def parse_error(self, response: httpx.Response) -> ApiError:
        payload = json_or_none(response)
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        entries = error.get("errors") or []
        reasons = [item.get("reason") for item in entries if isinstance(item, dict)]
        code = error_code_for_status(response.status_code)
        if RATE_LIMIT_REASONS.intersection(reasons):
            code = ErrorCode.RATE_LIMITED
        message = error.get("message")
        return self.make_error(
            code,
            provider_message=message if isinstance(message, str) else None,
            status=response.status_code,
            details={"reason": reasons[0] if reasons else None, "status": error.get("status")},
        )

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """List one calendar: its id (the account email for the primary one) and name."""
        answer = self.request(
            credentials,
            RequestOptions(endpoint="/users/me/calendarList", params={"maxResults": 1}),
        )
        if not answer.success or not isinstance(answer.data, dict):
            return self.connection_failure(answer.error)
        items = answer.data.get("items") or []
        first = items[0] if items and isinstance(items[0], dict) else {}
        calendar_id = first.get("id")
        return ConnectionTestResult(
            success=True,
            account_id=calendar_id,
            account_name=first.get("summary"),
            email=calendar_id if isinstance(calendar_id, str) and "@" in calendar_id else None,
            details={"calendars_visible": bool(items)},
        )
