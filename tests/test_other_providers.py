"""GitHub, Jira, Linear, Slack, Google Calendar and Twilio adapters, and the registry."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from lib.providers.base import ProviderAdapter
from lib.providers.calendar import CalendarAdapter
from lib.providers.github import GitHubAdapter
from lib.providers.jira import JiraAdapter
from lib.providers.linear import VIEWER_QUERY, LinearAdapter
from lib.providers.registry import (
    ADAPTERS,
    UnknownProviderError,
    credentials_help,
    get_adapter,
    provider_label,
)
from lib.providers.slack import SlackAdapter
from lib.providers.stripe import StripeAdapter
from lib.providers.twilio import TwilioAdapter
from lib.providers.types import (
    PROVIDERS,
    ErrorAction,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)
from tests.loopback_server import LoopbackServer, Reply

GITHUB_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
SLACK_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
LINEAR_KEY = "lin_api_0123456789abcdefghijklmnopqrstuv"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "f3e9a0c1d2b34a5e8f7c6b5a4d3e2f1a"


def no_sleep(seconds: float) -> None:
    """Retries in these tests never wait."""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def basic_pair(header: str) -> str:
    scheme, _, value = header.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


# --- GitHub ---------------------------------------------------------------------------------


def test_github_connection_reads_the_user_with_bearer_and_api_headers(
    server: LoopbackServer,
) -> None:
    user = Reply(
        json={"id": 583231, "login": "octocat", "name": "The Octocat", "email": "o@gh.io"},
        headers={
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": "1700000000",
        },
    )
    server.on("/user", lambda request: user)
    with GitHubAdapter(base_url=server.url, sleep=no_sleep) as github:
        result = github.test_connection(ProviderCredentials(pat=GITHUB_TOKEN))
        response = github.request(
            ProviderCredentials(pat=GITHUB_TOKEN), RequestOptions(endpoint="/user")
        )

    assert result.success
    assert (result.account_id, result.account_name, result.email) == (
        "583231",
        "The Octocat",
        "o@gh.io",
    )
    sent = server.requests[0]
    assert sent.path == "/user" and sent.method == "GET"
    assert sent.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert sent.headers["Accept"] == "application/vnd.github+json"
    assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert response.rate_limit is not None
    assert (response.rate_limit.limit, response.rate_limit.remaining) == (5000, 4999)
    assert response.rate_limit.reset_at == 1_700_000_000.0


def test_github_403_with_exhausted_quota_is_a_rate_limit(server: LoopbackServer) -> None:
    server.queue(
        "/user",
        Reply(
            status=403,
            json={"message": "API rate limit exceeded for user ID 1."},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"},
        ),
    )
    with GitHubAdapter(base_url=server.url, sleep=no_sleep) as github:
        response = github.request(
            ProviderCredentials(pat=GITHUB_TOKEN), RequestOptions(endpoint="/user")
        )

    assert response.error is not None and response.error.code is ErrorCode.RATE_LIMITED
    assert response.error.retryable and "API rate limit exceeded" in response.error.message
    assert response.rate_limit is not None and response.rate_limit.remaining == 0


def test_an_html_page_instead_of_json_is_a_provider_error(server: LoopbackServer) -> None:
    server.queue(
        "/user", Reply(body="<html>Unicorn!</html>", headers={"Content-Type": "text/html"})
    )
    with GitHubAdapter(base_url=server.url, sleep=no_sleep) as github:
        result = github.test_connection(ProviderCredentials(pat=GITHUB_TOKEN))

    assert result.error is not None and result.error.code is ErrorCode.PROVIDER_ERROR
    assert "unexpected format" in result.error.message


def test_github_bad_credentials_ask_to_reconnect_without_leaking_the_token(
    server: LoopbackServer,
) -> None:
    server.queue("/user", Reply(status=401, json={"message": f"Bad credentials {GITHUB_TOKEN}"}))
    with GitHubAdapter(base_url=server.url, sleep=no_sleep) as github:
        result = github.test_connection(ProviderCredentials(pat=GITHUB_TOKEN))

    assert result.error is not None and result.error.code is ErrorCode.UNAUTHORIZED
    assert result.error.action is ErrorAction.RECONNECT
    assert "Bad credentials" in result.error.message
    assert "16C7e42F292c6912E7710c838347Ae17" not in repr(result)


# --- Jira -----------------------------------------------------------------------------------


JIRA = ProviderCredentials(pat="ATATT3xFfGF0token", email="ana@acme.com", site="acme.atlassian.net")


def test_jira_connection_reads_myself_with_basic_auth(server: LoopbackServer) -> None:
    server.queue(
        "/rest/api/3/myself",
        Reply(
            json={
                "accountId": "5b10a2844c20165700ede21g",
                "displayName": "Ana Lima",
                "emailAddress": "ana@acme.com",
            }
        ),
    )
    with JiraAdapter(base_url=server.url, sleep=no_sleep) as jira:
        result = jira.test_connection(JIRA)

    assert result.success
    assert (result.account_id, result.account_name, result.email) == (
        "5b10a2844c20165700ede21g",
        "Ana Lima",
        "ana@acme.com",
    )
    assert (
        basic_pair(server.requests[0].headers["Authorization"]) == "ana@acme.com:ATATT3xFfGF0token"
    )


def test_jira_requests_go_to_the_customers_own_site() -> None:
    credentials = JIRA.model_copy(update={"site": "https://Acme.atlassian.net/"})
    with JiraAdapter() as jira:
        request = jira.build_request(credentials, RequestOptions(endpoint="/rest/api/3/myself"))

    assert str(request.url) == "https://acme.atlassian.net/rest/api/3/myself"


@pytest.mark.parametrize(
    ("update", "problem"),
    [
        ({"site": None}, "Enter your Jira site"),
        ({"site": "acme atlassian"}, "web address"),
        ({"email": None}, "email address"),
    ],
)
def test_jira_credentials_need_site_and_email(update: dict[str, object], problem: str) -> None:
    with JiraAdapter() as jira:
        message = jira.validate_credentials(JIRA.model_copy(update=update))

    assert message is not None and problem in message


# --- Linear ---------------------------------------------------------------------------------


def test_linear_connection_queries_the_viewer_with_the_raw_key(server: LoopbackServer) -> None:
    server.queue(
        "/graphql",
        Reply(json={"data": {"viewer": {"id": "u-1", "name": "Ana", "email": "ana@acme.com"}}}),
    )
    with LinearAdapter(base_url=server.url, sleep=no_sleep) as linear:
        result = linear.test_connection(ProviderCredentials(pat=LINEAR_KEY))

    assert result.success
    assert (result.account_id, result.account_name, result.email) == ("u-1", "Ana", "ana@acme.com")
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/graphql"
    assert sent.headers["Authorization"] == LINEAR_KEY
    assert sent.json() == {"query": VIEWER_QUERY}


def test_linear_oauth_token_is_sent_as_bearer(server: LoopbackServer) -> None:
    server.queue("/graphql", Reply(json={"data": {"viewer": {"id": "u-1"}}}))
    with LinearAdapter(base_url=server.url, sleep=no_sleep) as linear:
        linear.test_connection(ProviderCredentials(pat="oauth-token-123", auth_method="oauth"))

    assert server.requests[0].headers["Authorization"] == "Bearer oauth-token-123"


@pytest.mark.parametrize("status", [200, 400])
def test_linear_graphql_authentication_error_means_reconnect(
    server: LoopbackServer, status: int
) -> None:
    server.queue(
        "/graphql",
        Reply(
            status=status,
            json={
                "errors": [
                    {
                        "message": "Authentication required, not authenticated",
                        "extensions": {
                            "type": "authentication error",
                            "code": "AUTHENTICATION_ERROR",
                            "userPresentableMessage": "You need to authenticate.",
                        },
                    }
                ]
            },
        ),
    )
    with LinearAdapter(base_url=server.url, sleep=no_sleep) as linear:
        result = linear.test_connection(ProviderCredentials(pat=LINEAR_KEY))

    assert not result.success and result.error is not None
    assert result.error.code is ErrorCode.UNAUTHORIZED
    assert result.error.action is ErrorAction.RECONNECT
    assert "You need to authenticate." in result.error.message


def test_linear_other_graphql_errors_in_a_200_are_failures(server: LoopbackServer) -> None:
    server.queue(
        "/graphql",
        Reply(json={"data": None, "errors": [{"message": "Entity not found: Issue"}]}),
    )
    with LinearAdapter(base_url=server.url, sleep=no_sleep) as linear:
        response = linear.request(
            ProviderCredentials(pat=LINEAR_KEY),
            RequestOptions(endpoint="/graphql", method="POST", body={"query": "{ issue(id: 1) }"}),
        )

    assert not response.success and response.error is not None
    assert response.error.code is ErrorCode.PROVIDER_ERROR
    assert "Entity not found" in response.error.message


# --- Slack ----------------------------------------------------------------------------------


def test_slack_connection_calls_auth_test(server: LoopbackServer) -> None:
    server.queue(
        "/auth.test",
        Reply(
            json={
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "dashbot",
                "team_id": "T12345",
                "user_id": "U12345",
            }
        ),
    )
    with SlackAdapter(base_url=server.url, sleep=no_sleep) as slack:
        result = slack.test_connection(ProviderCredentials(pat=SLACK_TOKEN))

    assert result.success and (result.account_id, result.account_name) == ("T12345", "Acme")
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/auth.test"
    assert sent.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"


@pytest.mark.parametrize(
    ("slack_error", "code", "action"),
    [
        ("invalid_auth", ErrorCode.UNAUTHORIZED, ErrorAction.RECONNECT),
        ("not_authed", ErrorCode.UNAUTHORIZED, ErrorAction.RECONNECT),
        ("account_inactive", ErrorCode.UNAUTHORIZED, ErrorAction.RECONNECT),
        ("token_revoked", ErrorCode.UNAUTHORIZED, ErrorAction.RECONNECT),
        ("token_expired", ErrorCode.UNAUTHORIZED, ErrorAction.RECONNECT),
        ("ratelimited", ErrorCode.RATE_LIMITED, ErrorAction.RETRY),
        ("missing_scope", ErrorCode.FORBIDDEN, ErrorAction.RECONNECT),
        ("fatal_error", ErrorCode.PROVIDER_ERROR, ErrorAction.RETRY),
    ],
)
def test_slack_ok_false_maps_to_an_error(
    server: LoopbackServer, slack_error: str, code: ErrorCode, action: ErrorAction
) -> None:
    server.queue("/auth.test", Reply(json={"ok": False, "error": slack_error}))
    with SlackAdapter(base_url=server.url, sleep=no_sleep) as slack:
        result = slack.test_connection(ProviderCredentials(pat=SLACK_TOKEN))

    assert not result.success and result.error is not None
    assert (result.error.code, result.error.action) == (code, action)
    assert result.error.details["slack_error"] == slack_error


# --- Google Calendar ------------------------------------------------------------------------


def test_calendar_connection_lists_one_calendar(server: LoopbackServer) -> None:
    server.queue(
        "/users/me/calendarList",
        Reply(json={"items": [{"id": "ana@acme.com", "summary": "Ana Lima", "primary": True}]}),
    )
    with CalendarAdapter(base_url=server.url, sleep=no_sleep) as calendar:
        result = calendar.test_connection(
            ProviderCredentials(pat="ya29.a0AfH6SMBx", auth_method="oauth")
        )

    assert result.success
    assert (result.account_name, result.email) == ("Ana Lima", "ana@acme.com")
    sent = server.requests[0]
    assert sent.param("maxResults") == "1"
    assert sent.headers["Authorization"] == "Bearer ya29.a0AfH6SMBx"


def test_calendar_quota_403_is_a_rate_limit(server: LoopbackServer) -> None:
    server.queue(
        "/users/me/calendarList",
        Reply(
            status=403,
            json={
                "error": {
                    "code": 403,
                    "message": "Rate Limit Exceeded",
                    "errors": [{"reason": "rateLimitExceeded"}],
                }
            },
        ),
    )
    with CalendarAdapter(base_url=server.url, sleep=no_sleep) as calendar:
        result = calendar.test_connection(ProviderCredentials(pat="ya29.a0AfH6SMBx"))

    assert result.error is not None and result.error.code is ErrorCode.RATE_LIMITED
    assert result.error.retryable


# --- Twilio ---------------------------------------------------------------------------------


TWILIO = ProviderCredentials(pat=TWILIO_TOKEN, account_id=TWILIO_SID)


def test_twilio_connection_reads_the_account_with_basic_auth(server: LoopbackServer) -> None:
    server.queue(
        f"/2010-04-01/Accounts/{TWILIO_SID}.json",
        Reply(json={"sid": TWILIO_SID, "friendly_name": "Acme Ops", "status": "active"}),
    )
    with TwilioAdapter(base_url=server.url, sleep=no_sleep) as twilio:
        result = twilio.test_connection(TWILIO)

    assert result.success and (result.account_id, result.account_name) == (TWILIO_SID, "Acme Ops")
    assert basic_pair(server.requests[0].headers["Authorization"]) == f"{TWILIO_SID}:{TWILIO_TOKEN}"


def test_twilio_bodies_are_form_encoded_and_errors_hide_the_token(server: LoopbackServer) -> None:
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    server.queue(
        path, Reply(status=401, json={"code": 20003, "message": f"Authenticate {TWILIO_TOKEN}"})
    )
    with TwilioAdapter(base_url=server.url, sleep=no_sleep) as twilio:
        response = twilio.request(
            TWILIO,
            RequestOptions(
                endpoint=f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
                method="POST",
                body={"To": "+15005550006", "Body": "Payment failed", "MediaUrl": ["a", "b"]},
            ),
        )

    sent = server.requests[0]
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.form() == [
        ("To", "+15005550006"),
        ("Body", "Payment failed"),
        ("MediaUrl", "a"),
        ("MediaUrl", "b"),
    ]
    assert response.error is not None and response.error.code is ErrorCode.UNAUTHORIZED
    assert response.error.details["twilio_code"] == 20003
    assert TWILIO_TOKEN[:-4] not in repr(response)


def test_twilio_needs_an_account_sid() -> None:
    with TwilioAdapter() as twilio:
        message = twilio.validate_credentials(TWILIO.model_copy(update={"account_id": "AC123"}))

    assert message is not None and "Account SID" in message


# --- token formats and the registry ---------------------------------------------------------


@pytest.mark.parametrize(
    ("adapter", "token", "problem"),
    [
        (GitHubAdapter, "xyz_notatoken", "does not look like a GitHub token"),
        (GitHubAdapter, "github_pat_11ABC", None),
        (SlackAdapter, "xoxe.xoxp-1-abc", None),
        (SlackAdapter, "xapp-1-abc", "does not look like a Slack token"),
        (LinearAdapter, "lin_oauth_abc", "does not look like a Linear API key"),
        (LinearAdapter, LINEAR_KEY, None),
    ],
)
def test_token_formats_are_checked_in_plain_words(
    adapter: type[ProviderAdapter], token: str, problem: str | None
) -> None:
    with adapter() as instance:
        message = instance.validate_credentials(ProviderCredentials(pat=token))

    assert (message is None) if problem is None else (message is not None and problem in message)


def test_invalid_token_never_reaches_the_provider(server: LoopbackServer) -> None:
    with GitHubAdapter(base_url=server.url, sleep=no_sleep) as github:
        result = github.test_connection(ProviderCredentials(pat="password123"))

    assert result.error is not None and result.error.code is ErrorCode.INVALID_CREDENTIALS
    assert server.requests == []


def test_registry_serves_every_provider_with_a_label_and_help(server: LoopbackServer) -> None:
    assert set(ADAPTERS) == set(PROVIDERS)
    for name in PROVIDERS:
        assert provider_label(name) and len(credentials_help(name)) > 20
    assert provider_label("calendar") == "Google Calendar"

    adapter = get_adapter("stripe", base_url=server.url + "/v1", sleep=no_sleep)
    try:
        assert isinstance(adapter, StripeAdapter) and adapter.name == "stripe"
        assert adapter.resolve_base_url(None) == server.url + "/v1"
    finally:
        adapter.close()
    with pytest.raises(UnknownProviderError, match="unknown provider 'paypal'"):
        get_adapter("paypal")
