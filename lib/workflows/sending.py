"""One attempt at a step's action against its provider, classified for the run scheduler.

`done` (with outputs), `retry` (transient: not sent or safe to repeat: connection failures,
timeouts before a reply for Jira, 5xx, 429 with its Retry-After), `unknown` (a message to a
person may have gone out: never repeated automatically) or `failed` (permanent: the
provider refused, in plain words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from lib.config import Settings
from lib.providers.types import ApiResponse, ErrorCode, RequestOptions
from lib.safe_url import http_url
from lib.workflows.connections import Connection

AttemptKind = Literal["done", "retry", "unknown", "failed"]
# Failures that happen before a single byte of the request reached the provider.
_NOT_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
_LABEL_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
TWILIO_PERMANENT = {
    21610: "the recipient has opted out of messages from this number (replied STOP)",
    21211: "the phone number is not a valid number",
    21614: "the phone number is not a mobile number",
    21408: "SMS to this region is not enabled on the Twilio account",
    21612: "Twilio cannot send from this number to that one",
}
MAX_JIRA_SUMMARY = 255


@dataclass(frozen=True)
class Attempt:
    """What one attempt did."""

    kind: AttemptKind
    outputs: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_after: float | None = None


def dedupe_label(workflow_id: str, trigger_event_id: str) -> str:
    """The Jira label that marks the issue a run created (labels allow no spaces)."""
    return _LABEL_CHARACTERS.sub("_", f"wf-{workflow_id}-{trigger_event_id}")[:255]


def create_jira_issue(
    connection: Connection, settings: Settings, fields: Mapping[str, str], label: str
) -> Attempt:
    """Find the issue labelled `label` (created by an earlier attempt), else create it."""
    adapter, credentials = connection.adapter, connection.credentials
    base = adapter.resolve_base_url(credentials)
    found = adapter.request(
        credentials,
        RequestOptions(
            endpoint="/rest/api/3/search/jql",
            params={"jql": f'labels = "{label}"', "fields": "summary", "maxResults": 1},
        ),
    )
    if not found.success:
        return _failure(found, sends_to_people=False)
    issues = found.data.get("issues") if isinstance(found.data, dict) else None
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        return _jira_done(issues[0], base, reused=True)
    body = {
        "fields": {
            "project": {"key": settings.jira_project_key},
            "summary": fields["summary"][:MAX_JIRA_SUMMARY],
            "issuetype": {"name": fields.get("issue_type") or "Task"},
            "labels": [label],
            **({"description": _adf(fields["description"])} if fields.get("description") else {}),
        }
    }
    created = adapter.request(
        credentials, RequestOptions(endpoint="/rest/api/3/issue", method="POST", body=body)
    )
    if not created.success:
        return _failure(created, sends_to_people=False)
    return _jira_done(created.data if isinstance(created.data, dict) else {}, base, reused=False)


def post_slack_message(
    connection: Connection, settings: Settings, fields: Mapping[str, str]
) -> Attempt:
    """`chat.postMessage` to the step's channel (default SLACK_SALES_CHANNEL)."""
    channel = fields.get("channel") or settings.slack_sales_channel
    answer = connection.adapter.request(
        connection.credentials,
        RequestOptions(
            endpoint="/chat.postMessage",
            method="POST",
            body={"channel": channel, "text": fields["text"]},
        ),
    )
    if not answer.success:
        return _failure(answer, sends_to_people=True)
    data = answer.data if isinstance(answer.data, dict) else {}
    ts, where = _text(data.get("ts")), _text(data.get("channel")) or channel
    return Attempt(
        kind="done",
        outputs={"message.ts": ts, "message.channel": where},
        response={"ok": True, "channel": where, "ts": ts},
    )


def send_twilio_sms(
    connection: Connection, settings: Settings, fields: Mapping[str, str]
) -> Attempt:
    """Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`."""
    sid = quote((connection.credentials.account_id or "").strip(), safe="")
    answer = connection.adapter.request(
        connection.credentials,
        RequestOptions(
            endpoint=f"/2010-04-01/Accounts/{sid}/Messages.json",
            method="POST",
            body={"To": fields["to"], "From": settings.twilio_from, "Body": fields["body"]},
        ),
    )
    if not answer.success:
        code = answer.error.details.get("twilio_code") if answer.error else None
        if isinstance(code, int) and code in TWILIO_PERMANENT:
            return Attempt(
                kind="failed",
                error=f"Twilio refused the SMS: {TWILIO_PERMANENT[code]} (error {code}).",
                response={"status": answer.status, "code": code},
            )
        return _failure(answer, sends_to_people=True)
    data = answer.data if isinstance(answer.data, dict) else {}
    message_sid, status = _text(data.get("sid")), _text(data.get("status"))
    return Attempt(
        kind="done",
        outputs={"message.sid": message_sid, "message.status": status},
        response={"sid": message_sid, "status": status},
    )


def _jira_done(issue: Mapping[str, Any], base: str, *, reused: bool) -> Attempt:
    key = _text(issue.get("key"))
    url = http_url(f"{base}/browse/{quote(key, safe='')}") if key else None
    response = {"key": key, "id": _text(issue.get("id")), "found_existing": reused}
    return Attempt(
        kind="done",
        outputs={"issue.key": key, "issue.url": url, "issue.id": _text(issue.get("id"))},
        response=response,
    )


def _failure(answer: ApiResponse[Any], *, sends_to_people: bool) -> Attempt:
    error = answer.error
    message = error.message if error else "the provider gave no answer"
    response = {"status": answer.status}
    if error is None:
        return Attempt(kind="retry", error=message, response=response)
    if error.code == ErrorCode.NETWORK_ERROR:
        reason = error.details.get("reason")
        if reason in _NOT_SENT or not sends_to_people:
            return Attempt(kind="retry", error=message, response=response)
        return Attempt(
            kind="unknown",
            error=f"{message} The message may have been delivered: check before retrying.",
            response=response,
        )
    retry_after = answer.rate_limit.retry_after if answer.rate_limit else None
    if error.code == ErrorCode.RATE_LIMITED or (answer.status or 0) >= 500:
        return Attempt(kind="retry", error=message, response=response, retry_after=retry_after)
    return Attempt(kind="failed", error=message, response=response)


def _adf(text: str) -> dict[str, Any]:
    # Jira Cloud v3 takes descriptions as Atlassian Document Format, never as markup.
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def _text(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) and value else None
