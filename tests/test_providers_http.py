"""The shared request path: retries, backoff, Retry-After, Stripe-Should-Retry, and masking."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate

import httpx
import pytest

from lib.providers.http import RetryPolicy, make_timeout, parse_retry_after, send
from lib.providers.masking import mask_secret, redact_secrets
from lib.providers.types import ErrorAction, ErrorCode
from tests.loopback_server import LoopbackServer, Reply, unused_url
from tests.time_doubles import RecordingSleep

POLICY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=20.0)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=make_timeout(5.0)) as http:
        yield http


def get(server: LoopbackServer, path: str = "/thing") -> httpx.Request:
    return httpx.Request("GET", server.url + path)


def test_429_with_retry_after_waits_at_least_that_long_then_succeeds(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue(
        "/thing",
        Reply(status=429, json={"error": "slow down"}, headers={"Retry-After": "3"}),
        Reply(json={"ok": True}),
    )
    sleep = RecordingSleep()

    result = send(client, get(server), policy=POLICY, provider="stripe", sleep=sleep)

    assert result.response is not None and result.response.json() == {"ok": True}
    assert result.attempts == 2
    assert len(sleep.waits) == 1 and 3.0 <= sleep.waits[0] <= POLICY.max_delay


def test_retry_after_as_http_date_is_honoured(server: LoopbackServer, client: httpx.Client) -> None:
    later = formatdate(time.time() + 5, usegmt=True)
    server.queue(
        "/thing", Reply(status=503, headers={"Retry-After": later}), Reply(json={"ok": True})
    )
    sleep = RecordingSleep()

    result = send(client, get(server), policy=POLICY, provider="github", sleep=sleep)

    assert result.attempts == 2
    assert 3.5 <= sleep.waits[0] <= 5.5


def test_retry_after_beyond_max_delay_is_not_waited_for(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue("/thing", Reply(status=429, headers={"Retry-After": "120"}))
    sleep = RecordingSleep()

    result = send(client, get(server), policy=POLICY, provider="stripe", sleep=sleep)

    assert result.response is not None and result.response.status_code == 429
    assert result.attempts == 1 and sleep.waits == []
    assert parse_retry_after(result.response.headers) == 120.0


def test_400_is_not_retried(server: LoopbackServer, client: httpx.Client) -> None:
    server.queue("/thing", Reply(status=400, json={"error": "bad"}))
    sleep = RecordingSleep()

    result = send(client, get(server), policy=POLICY, provider="stripe", sleep=sleep)

    assert result.response is not None and result.response.status_code == 400
    assert result.attempts == 1 and len(server.requests) == 1 and sleep.waits == []


def test_stripe_should_retry_false_stops_a_503_retry(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue("/thing", Reply(status=503, headers={"Stripe-Should-Retry": "false"}))

    result = send(client, get(server), policy=POLICY, provider="stripe", sleep=RecordingSleep())

    assert result.response is not None and result.response.status_code == 503
    assert result.attempts == 1 and len(server.requests) == 1


def test_stripe_should_retry_true_retries_a_409(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue(
        "/thing",
        Reply(
            status=409,
            json={"error": {"type": "idempotency_error"}},
            headers={"Stripe-Should-Retry": "true"},
        ),
        Reply(json={"id": "ch_1"}),
    )
    request = httpx.Request("POST", server.url + "/thing")

    result = send(client, request, policy=POLICY, provider="stripe", sleep=RecordingSleep())

    assert result.response is not None and result.response.json() == {"id": "ch_1"}
    assert result.attempts == 2


def test_attempts_never_exceed_the_policy(server: LoopbackServer, client: httpx.Client) -> None:
    server.on("/thing", lambda request: Reply(status=503, json={"error": "down"}))
    sleep = RecordingSleep()

    result = send(
        client, get(server), policy=RetryPolicy(max_attempts=3), provider="jira", sleep=sleep
    )

    assert result.response is not None and result.response.status_code == 503
    assert result.attempts == 3 and len(server.requests) == 3 and len(sleep.waits) == 2


def test_backoff_grows_with_full_jitter_and_is_capped(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.on("/thing", lambda request: Reply(status=500))
    policy = RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=4.0)
    sleep = RecordingSleep()

    send(client, get(server), policy=policy, provider="slack", sleep=sleep)

    assert len(sleep.waits) == 7
    for failed, wait in enumerate(sleep.waits, start=1):
        assert 0.0 <= wait <= min(4.0, 1.0 * 2 ** (failed - 1))


def test_closed_port_gives_network_error_after_every_attempt(client: httpx.Client) -> None:
    sleep = RecordingSleep()

    result = send(
        client,
        httpx.Request("GET", unused_url() + "/v1/charges"),
        policy=POLICY,
        provider="stripe",
        label="Stripe",
        sleep=sleep,
    )

    assert result.response is None and result.error is not None
    assert result.error.code is ErrorCode.NETWORK_ERROR
    assert result.error.retryable and result.error.action is ErrorAction.RETRY
    assert result.error.message.startswith("Could not reach Stripe")
    assert result.attempts == POLICY.max_attempts and len(sleep.waits) == 3


def test_a_slow_server_times_out_as_network_error(server: LoopbackServer) -> None:
    def slow(request: object) -> Reply:
        time.sleep(0.5)
        return Reply(json={})

    server.on("/thing", slow)
    with httpx.Client(timeout=make_timeout(0.1)) as http:
        result = send(
            http,
            get(server),
            policy=RetryPolicy(max_attempts=2),
            provider="github",
            sleep=RecordingSleep(),
        )

    assert result.error is not None and result.error.code is ErrorCode.NETWORK_ERROR
    assert "timed out" in result.error.message and result.attempts == 2


def test_post_without_idempotency_key_is_not_repeated_after_a_5xx(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.on("/messages", lambda request: Reply(status=502))
    request = httpx.Request("POST", server.url + "/messages", content=b"Body=hi")

    result = send(client, request, policy=POLICY, provider="twilio", sleep=RecordingSleep())

    assert result.attempts == 1 and len(server.requests) == 1


def test_post_is_repeated_after_a_429_and_with_an_idempotency_key(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue("/messages", Reply(status=429), Reply(status=201, json={"sid": "SM1"}))
    server.queue("/charges", Reply(status=502), Reply(json={"id": "ch_1"}))
    plain_post = httpx.Request("POST", server.url + "/messages")
    keyed_post = httpx.Request("POST", server.url + "/charges", headers={"Idempotency-Key": "k1"})

    rate_limited = send(
        client, plain_post, policy=POLICY, provider="twilio", sleep=RecordingSleep()
    )
    keyed = send(client, keyed_post, policy=POLICY, provider="stripe", sleep=RecordingSleep())

    assert rate_limited.attempts == 2 and rate_limited.response is not None
    assert rate_limited.response.status_code == 201
    assert keyed.attempts == 2 and keyed.response is not None
    assert keyed.response.json() == {"id": "ch_1"}


def test_a_damaged_body_is_a_network_error_not_an_exception(
    server: LoopbackServer, client: httpx.Client
) -> None:
    server.queue("/thing", Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))

    result = send(client, get(server), policy=POLICY, provider="github", sleep=RecordingSleep())

    assert result.error is not None and result.error.code is ErrorCode.NETWORK_ERROR
    assert "damaged" in result.error.message and result.attempts == 1


def test_default_timeouts_are_20s_with_5s_to_connect() -> None:
    timeout = make_timeout()
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (5.0, 20.0, 20.0, 20.0)


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        ("sk_test_51HqLyjWDarjtT1zdp7dcXbUy4242", "sk_test_...4242"),
        ("rk_live_51HqLyjWDarjtT1zdabcd9876", "rk_live_...9876"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_...8B4a"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_...ijkl"),
        ("xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "xoxb-...bqgy"),
        ("lin_api_0123456789abcdefghij", "lin_api_...ghij"),
        ("0123456789abcdef0123456789abcdef", "...cdef"),
        ("sk_test_short", "sk_test_****"),
        ("abc123", "****"),
        ("", ""),
    ],
)
def test_mask_secret_keeps_a_prefix_and_at_most_the_last_four(token: str, masked: str) -> None:
    assert mask_secret(token) == masked


def test_redaction_hides_keys_tokens_and_auth_values_in_text() -> None:
    text = (
        "Invalid API Key provided: sk_live_51HqLyjWDarjtT1zdp7dcXbUy9999; "
        "header was Bearer ya29.a0AfH6SMBx1234567890abcdef and token ghp_aaaaaaaaaaaaaaaaaaaa1111; "
        "also the Basic plan"
    )
    redacted = redact_secrets(text, known_secrets=["ya29.a0AfH6SMBx1234567890abcdef"])

    assert "51HqLyjWDarjtT1zdp7dcXbUy" not in redacted
    assert "a0AfH6SMBx1234567890" not in redacted
    assert "aaaaaaaaaaaaaaaaaaaa" not in redacted
    assert "sk_live_...9999" in redacted and "ghp_...1111" in redacted
    assert "the Basic plan" in redacted
