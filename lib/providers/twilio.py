"""Twilio REST API adapter (account SID and auth token, form-encoded bodies)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from lib.providers.base import ProviderAdapter, error_code_for_status, form_pairs, json_or_none
from lib.providers.types import ApiError, ConnectionTestResult, ProviderCredentials, RequestOptions

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


class TwilioAdapter(ProviderAdapter):
    """Twilio with basic auth `account_sid:auth_token`."""

    name = "twilio"
    label = "Twilio"
    default_base_url = "https://api.twilio.com"
    credentials_help = (
        "Your Account SID (AC followed by 32 characters) and Auth Token, "
        "both shown on the Twilio Console home page."
    )

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        pair = f"{(credentials.account_id or '').strip()}:{credentials.token()}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        if not credentials.account_id or not ACCOUNT_SID.match(credentials.account_id.strip()):
            return "Enter the Twilio Account SID: AC followed by 32 letters and digits."
        if any(char.isspace() for char in credentials.token()):
            return "The Twilio Auth Token contains spaces or line breaks. Copy it again."
        return None

    def encode_body(self, body: Mapping[str, Any]) -> tuple[bytes, str]:
        return urlencode(form_pairs(body)).encode(), "application/x-www-form-urlencoded"

    def parse_error(self, response: httpx.Response) -> ApiError:
        payload = json_or_none(response)
        payload = payload if isinstance(payload, dict) else {}
        message = payload.get("message")
        return self.make_error(
            error_code_for_status(response.status_code),
            provider_message=message if isinstance(message, str) else None,
            status=response.status_code,
            details={"twilio_code": payload.get("code"), "more_info": payload.get("more_info")},
        )

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Read the account resource: SID, friendly name, status and type."""
        sid = (credentials.account_id or "").strip()
        answer = self.request(
            credentials, RequestOptions(endpoint=f"/2010-04-01/Accounts/{sid}.json")
        )
        if not answer.success or not isinstance(answer.data, dict):
            return self.connection_failure(answer.error)
        return ConnectionTestResult(
            success=True,
            account_id=answer.data.get("sid"),
            account_name=answer.data.get("friendly_name"),
            details={"status": answer.data.get("status"), "type": answer.data.get("type")},
        )
