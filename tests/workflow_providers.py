"""Loopback servers speaking the documented APIs workflow steps call: Jira Cloud REST v3
(create issue, search by label), Slack Web API `chat.postMessage`, Twilio's Messages API."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from lib.providers.types import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox
from lib.workflows import store
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply

TWILIO_SID = "AC" + "0" * 32
MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


def provider_settings(url: str) -> dict[str, str]:
    """The settings that point workflow steps at the loopback server at `url`."""
    return {
        "JIRA_BASE_URL": url,
        "JIRA_PROJECT_KEY": "ONB",
        "SLACK_API_BASE": url,
        "TWILIO_API_BASE": url,
        "TWILIO_FROM": "+15550009999",
        "WORKFLOW_PORTAL_RETURN_URL": "https://billing.example.test/update",
    }


def connect_providers(engine: Engine, key: bytes, live: tuple[str, ...] = ()) -> CredentialsStore:
    """Jira, Slack and Twilio connected on the Credentials page; real sends on for `live`."""
    credentials = CredentialsStore(engine, SecretBox([key]))
    for provider, creds in {
        "jira": ProviderCredentials(
            pat="jira-token-1234", email="ops@example.test", site="acme.atlassian.net"
        ),
        "slack": ProviderCredentials(pat="xoxb-1234-abcd"),
        "twilio": ProviderCredentials(pat="twilio-token-1234", account_id=TWILIO_SID),
    }.items():
        credentials.save("local", provider, creds, ConnectionInfo())  # type: ignore[arg-type]
    for workflow_id in live:
        store.set_live(engine, workflow_id, True, "admin@example.test", datetime.now(UTC))
    return credentials


_LABEL = re.compile(r'^labels = "([^"]+)"$')


class FakeProviders(LoopbackServer):
    """One server for the three APIs; what each received is kept in `issues`, `slack_posts`
    and `sms`. `server.queue(path, Reply(...))` scripts a failure before the normal answer."""

    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, dict[str, Any]] = {}
        """Created Jira issues by key."""
        self.slack_posts: list[dict[str, Any]] = []
        self.sms: list[dict[str, str]] = []
        self._numbers = itertools.count(1)
        self._state = threading.Lock()
        self.on("/rest/api/3/search/jql", self._search, method="GET")
        self.on("/rest/api/3/issue", self._create_issue, method="POST")
        self.on("/chat.postMessage", self._post_message, method="POST")
        self.on(MESSAGES_PATH, self._send_sms, method="POST")

    def _search(self, request: RecordedRequest) -> Reply:
        match = _LABEL.match(request.param("jql") or "")
        if match is None:
            return Reply(400, json={"errorMessages": ["bad JQL"]})
        with self._state:
            found = [
                {"id": issue["id"], "key": key}
                for key, issue in self.issues.items()
                if match.group(1) in issue["fields"]["labels"]
            ]
        return Reply(json={"issues": found[:1], "isLast": True})

    def _create_issue(self, request: RecordedRequest) -> Reply:
        fields = request.json()["fields"]
        with self._state:
            number = next(self._numbers)
            key = f"{fields['project']['key']}-{number}"
            self.issues[key] = {"id": str(10000 + number), "fields": fields}
        return Reply(201, json={"id": str(10000 + number), "key": key, "self": f"/issue/{number}"})

    def _post_message(self, request: RecordedRequest) -> Reply:
        body = request.json()
        with self._state:
            self.slack_posts.append(body)
            ts = f"1790000000.{len(self.slack_posts):06d}"
        return Reply(json={"ok": True, "channel": "C0SALES", "ts": ts})

    def _send_sms(self, request: RecordedRequest) -> Reply:
        form = dict(request.form())
        with self._state:
            self.sms.append(form)
            sid = f"SM{len(self.sms):032d}"
        return Reply(201, json={"sid": sid, "status": "queued", "to": form.get("To")})


def twilio_error(code: int, message: str, status: int = 400) -> Reply:
    """An error as Twilio's API answers it."""
    return Reply(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
