"""StripeAdapter against a real HTTP server on loopback: headers, encoding, errors, paging."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lib.config import STRIPE_API_VERSION
from lib.providers.http import RetryPolicy
from lib.providers.stripe import RESTRICTED_KEY_NOTE, StripeAdapter, stripe_key_mode
from lib.providers.stripe_form import encode_stripe_form
from lib.providers.types import (
    ErrorAction,
    ErrorCode,
    ProviderCredentials,
    RequestOptions,
)
from tests.loopback_server import LoopbackServer, Reply, unused_url
from tests.time_doubles import RecordingSleep

TEST_KEY = "sk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242"
KEY = ProviderCredentials(pat=TEST_KEY)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def stripe(server: LoopbackServer, sleep: RecordingSleep) -> Iterator[StripeAdapter]:
    with StripeAdapter(base_url=server.url + "/v1", sleep=sleep) as adapter:
        yield adapter


def stripe_error(message: str, **fields: str) -> dict[str, dict[str, str]]:
    return {"error": {"message": message, **fields}}


def charge_page(ids: list[str], has_more: bool) -> Reply:
    return Reply(
        json={
            "object": "list",
            "data": [{"id": i, "amount": 100} for i in ids],
            "has_more": has_more,
        }
    )


# --- headers and encoding -------------------------------------------------------------------


def test_requests_carry_the_key_and_the_pinned_api_version(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue("/v1/balance", Reply(json={"object": "balance"}))

    response = stripe.request(KEY, RequestOptions(endpoint="/balance"))

    assert response.success and response.data == {"object": "balance"}
    sent = server.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert sent.headers["Stripe-Version"] == STRIPE_API_VERSION == "2024-06-20"
    assert "Idempotency-Key" not in sent.headers


def test_post_body_uses_stripe_nested_form_syntax(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue("/v1/subscriptions", Reply(json={"id": "sub_1"}))

    stripe.request(
        KEY,
        RequestOptions(
            endpoint="/subscriptions",
            method="POST",
            body={
                "customer": "cus_1",
                "items": [{"price": "price_1", "quantity": 2}, {"price": "price_2"}],
                "metadata": {"order_id": "42", "note": ""},
                "expand": ["latest_invoice", "customer"],
                "off_session": True,
                "coupon": None,
            },
        ),
    )

    sent = server.requests[0]
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.form() == [
        ("customer", "cus_1"),
        ("items[0][price]", "price_1"),
        ("items[0][quantity]", "2"),
        ("items[1][price]", "price_2"),
        ("metadata[order_id]", "42"),
        ("metadata[note]", ""),
        ("expand[]", "latest_invoice"),
        ("expand[]", "customer"),
        ("off_session", "true"),
    ]


def test_query_uses_stripe_nested_syntax(server: LoopbackServer, stripe: StripeAdapter) -> None:
    server.queue("/v1/charges", charge_page([], has_more=False))

    stripe.request(
        KEY,
        RequestOptions(
            endpoint="/charges",
            params={
                "created": {"gte": 1_700_000_000, "lt": 1_700_086_400},
                "expand": ["data.customer"],
                "limit": 10,
                "customer": None,
            },
        ),
    )

    assert server.requests[0].query == [
        ("created[gte]", "1700000000"),
        ("created[lt]", "1700086400"),
        ("expand[]", "data.customer"),
        ("limit", "10"),
    ]


def test_form_encoding_rejects_values_stripe_cannot_take() -> None:
    with pytest.raises(TypeError, match="amount"):
        encode_stripe_form({"amount": object()})
    assert encode_stripe_form({"capture": False, "metadata": {}}) == [("capture", "false")]


def test_idempotency_key_is_the_same_across_retries_of_one_post(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue(
        "/v1/refunds",
        Reply(status=500, json=stripe_error("An unknown error occurred", type="api_error")),
        Reply(status=200, json={"id": "re_1"}),
        Reply(status=200, json={"id": "re_2"}),
    )
    body = {"charge": "ch_1"}

    first = stripe.request(KEY, RequestOptions(endpoint="/refunds", method="POST", body=body))
    second = stripe.request(KEY, RequestOptions(endpoint="/refunds", method="POST", body=body))

    assert first.success and first.attempts == 2 and second.success
    keys = [request.headers["Idempotency-Key"] for request in server.requests]
    assert keys[0] == keys[1] and keys[2] != keys[0]
    assert len(keys[0]) == 36


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable", "action"),
    [
        (400, ErrorCode.INVALID_REQUEST, False, ErrorAction.CONTACT_SUPPORT),
        (401, ErrorCode.UNAUTHORIZED, False, ErrorAction.RECONNECT),
        (403, ErrorCode.FORBIDDEN, False, ErrorAction.RECONNECT),
        (404, ErrorCode.NOT_FOUND, False, ErrorAction.CONTACT_SUPPORT),
        (429, ErrorCode.RATE_LIMITED, True, ErrorAction.RETRY),
        (500, ErrorCode.PROVIDER_ERROR, True, ErrorAction.RETRY),
        (503, ErrorCode.PROVIDER_ERROR, True, ErrorAction.RETRY),
    ],
)
def test_each_failed_status_maps_to_an_error_the_ui_can_act_on(
    server: LoopbackServer,
    stripe: StripeAdapter,
    status: int,
    code: ErrorCode,
    retryable: bool,
    action: ErrorAction,
) -> None:
    server.on(
        "/v1/customers/cus_missing",
        lambda request: Reply(
            status=status,
            json=stripe_error("Something specific", type="invalid_request_error", param="id"),
            headers={"Request-Id": "req_123"},
        ),
    )

    response = stripe.request(KEY, RequestOptions(endpoint="/customers/cus_missing"))

    assert not response.success and response.error is not None
    assert (response.error.code, response.error.retryable, response.error.action) == (
        code,
        retryable,
        action,
    )
    assert response.error.provider == "stripe" and response.error.status == status
    assert 'Stripe said: "Something specific"' in response.error.message
    assert response.error.details["request_id"] == "req_123"
    assert response.error.details["param"] == "id"
    assert response.attempts == (4 if retryable else 1)


def test_401_tells_the_user_the_key_was_rejected_and_to_reconnect(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue("/v1/balance", Reply(status=401, json=stripe_error("Invalid API Key provided")))

    error = stripe.request(KEY, RequestOptions(endpoint="/balance")).error

    assert error is not None and error.action is ErrorAction.RECONNECT
    assert "rejected the API key" in error.message and "Reconnect Stripe" in error.message


def test_402_card_error_is_an_invalid_request_with_stripes_message(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue(
        "/v1/payment_intents/pi_1/confirm",
        Reply(
            status=402,
            json=stripe_error(
                "Your card was declined.",
                type="card_error",
                code="card_declined",
                decline_code="insufficient_funds",
            ),
        ),
    )

    response = stripe.request(
        KEY, RequestOptions(endpoint="/payment_intents/pi_1/confirm", method="POST", body={})
    )

    error = response.error
    assert error is not None and error.code is ErrorCode.INVALID_REQUEST
    assert "Your card was declined." in error.message and not error.retryable
    assert error.details["type"] == "card_error"
    assert error.details["code"] == "card_declined"
    assert error.details["decline_code"] == "insufficient_funds"


def test_rate_limit_with_retry_after_is_waited_out_then_succeeds(
    server: LoopbackServer, stripe: StripeAdapter, sleep: RecordingSleep
) -> None:
    server.queue(
        "/v1/charges",
        Reply(status=429, json=stripe_error("Too many requests"), headers={"Retry-After": "2"}),
        charge_page(["ch_1"], has_more=False),
    )

    response = stripe.request(KEY, RequestOptions(endpoint="/charges"))

    assert response.success and response.attempts == 2
    assert sleep.waits and sleep.waits[0] >= 2.0


def test_rate_limit_longer_than_max_delay_returns_the_wait_to_the_caller(
    server: LoopbackServer, sleep: RecordingSleep
) -> None:
    server.queue("/v1/charges", Reply(status=429, headers={"Retry-After": "60"}))
    with StripeAdapter(
        base_url=server.url + "/v1", retry=RetryPolicy(max_delay=10.0), sleep=sleep
    ) as stripe:
        response = stripe.request(KEY, RequestOptions(endpoint="/charges"))

    assert response.error is not None and response.error.code is ErrorCode.RATE_LIMITED
    assert response.rate_limit is not None and response.rate_limit.retry_after == 60.0
    assert response.attempts == 1 and sleep.waits == []


def test_unreachable_stripe_is_a_network_error_after_max_attempts(sleep: RecordingSleep) -> None:
    with StripeAdapter(base_url=unused_url() + "/v1", sleep=sleep) as stripe:
        response = stripe.request(KEY, RequestOptions(endpoint="/charges"))

    assert response.error is not None and response.error.code is ErrorCode.NETWORK_ERROR
    assert response.error.action is ErrorAction.RETRY
    assert response.attempts == 4 and len(sleep.waits) == 3


def test_a_401_echoing_the_key_never_leaks_it(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    echo = f"Invalid API Key provided: {TEST_KEY} (Authorization: Bearer {TEST_KEY})"
    server.on(
        "/v1/account",
        lambda request: Reply(status=401, json=stripe_error(echo, key=TEST_KEY)),
    )

    response = stripe.request(KEY, RequestOptions(endpoint="/account"))
    result = stripe.test_connection(KEY)

    secret_part = TEST_KEY.removeprefix("sk_test_")[:-4]
    for shown in (repr(response), str(response.error), repr(result), repr(KEY), repr(stripe)):
        assert secret_part not in shown
    assert response.error is not None and "sk_test_...4242" in response.error.message


# --- credentials ----------------------------------------------------------------------------


def test_publishable_key_is_refused_before_any_request(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    response = stripe.request(
        ProviderCredentials(pat="pk_test_51HqLyjWDarjtT1zd"), RequestOptions(endpoint="/charges")
    )

    assert response.error is not None and response.error.code is ErrorCode.INVALID_CREDENTIALS
    assert response.error.action is ErrorAction.RECONNECT
    assert "publishable key" in response.error.message
    assert "secret key" in response.error.message and "restricted key" in response.error.message
    assert server.requests == []


def test_missing_key_is_reported_as_missing(stripe: StripeAdapter) -> None:
    response = stripe.request(ProviderCredentials(), RequestOptions(endpoint="/charges"))

    assert response.error is not None and response.error.code is ErrorCode.MISSING_CREDENTIALS


@pytest.mark.parametrize(
    ("credentials", "problem", "mode"),
    [
        (ProviderCredentials(pat="sk_test_abc123"), None, "test"),
        (ProviderCredentials(pat="sk_live_abc123"), None, "live"),
        (ProviderCredentials(pat="rk_test_abc123"), None, "test"),
        (ProviderCredentials(pat="rk_live_abc123"), None, "live"),
        (ProviderCredentials(pat="pk_live_abc123"), "publishable key", "live"),
        (ProviderCredentials(pat="sk_abc123"), "should start with sk_test_", None),
        (ProviderCredentials(pat="sk_test_abc 123"), "spaces", "test"),
        (
            ProviderCredentials(
                pat="sk_live_oauthAccessTokenValue", auth_method="oauth", livemode=True
            ),
            None,
            "live",
        ),
        (
            ProviderCredentials(
                pat="opaque-oauth-token-0123456789", auth_method="oauth", livemode=False
            ),
            None,
            "test",
        ),
        (ProviderCredentials(pat="short", auth_method="oauth"), "Reconnect Stripe", None),
    ],
)
def test_key_validation_and_mode(
    stripe: StripeAdapter, credentials: ProviderCredentials, problem: str | None, mode: str | None
) -> None:
    message = stripe.validate_credentials(credentials)

    assert (message is None) if problem is None else (message is not None and problem in message)
    assert stripe.mode(credentials) == mode


def test_key_mode_comes_from_the_prefix() -> None:
    assert stripe_key_mode("sk_test_x") == "test"
    assert stripe_key_mode("rk_live_x") == "live"
    assert stripe_key_mode("whsec_x") is None


# --- test_connection ------------------------------------------------------------------------


def test_connection_reports_the_account(server: LoopbackServer, stripe: StripeAdapter) -> None:
    server.queue(
        "/v1/account",
        Reply(
            json={
                "id": "acct_1Nv0FGQ9RKHgCVdK",
                "email": "owner@example.com",
                "business_profile": {"name": None},
                "settings": {"dashboard": {"display_name": "Acme Shop"}},
            }
        ),
    )

    result = stripe.test_connection(KEY)

    assert result.success and result.error is None
    assert result.account_id == "acct_1Nv0FGQ9RKHgCVdK"
    assert result.account_name == "Acme Shop"
    assert result.email == "owner@example.com"
    assert result.mode == "test"


def test_connection_with_a_restricted_key_falls_back_to_a_list(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    forbidden = Reply(
        status=403,
        json=stripe_error(
            "The provided key 'rk_live_*****1234' does not have the required permissions",
            type="invalid_request_error",
        ),
    )
    server.queue("/v1/account", forbidden)
    server.queue("/v1/charges", forbidden)
    server.queue("/v1/customers", Reply(json={"object": "list", "data": [], "has_more": False}))

    result = stripe.test_connection(ProviderCredentials(pat="rk_live_51HqLyjWDarjtT1zd1234"))

    assert result.success and result.account_id is None and result.mode == "live"
    assert result.details["note"] == RESTRICTED_KEY_NOTE
    assert [request.path for request in server.requests] == [
        "/v1/account",
        "/v1/charges",
        "/v1/customers",
    ]
    assert server.requests[2].param("limit") == "1"


def test_connection_with_a_revoked_key_fails_with_reconnect(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue("/v1/account", Reply(status=401, json=stripe_error("Expired API Key provided")))

    result = stripe.test_connection(KEY)

    assert not result.success and result.error is not None
    assert result.error.code is ErrorCode.UNAUTHORIZED
    assert result.error.action is ErrorAction.RECONNECT
    assert len(server.requests) == 1


# --- pagination -----------------------------------------------------------------------------


def test_list_all_follows_cursors_dedupes_and_reports_progress(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue(
        "/v1/charges",
        charge_page(["ch_1", "ch_2"], has_more=True),
        charge_page(["ch_2", "ch_3"], has_more=True),
        charge_page(["ch_4"], has_more=False),
    )
    progress: list[tuple[int, int]] = []

    result = stripe.list_all(
        KEY,
        "/charges",
        {"expand": ["data.customer"]},
        page_size=2,
        on_progress=lambda pages, items: progress.append((pages, items)),
    )

    assert result.success and result.error is None
    assert [item["id"] for item in result.data or []] == ["ch_1", "ch_2", "ch_3", "ch_4"]
    assert progress == [(1, 2), (2, 3), (3, 4)]
    sent = server.requests
    assert [request.param("starting_after") for request in sent] == [None, "ch_2", "ch_3"]
    assert all(request.param("limit") == "2" for request in sent)
    assert all(request.param("expand[]") == "data.customer" for request in sent)


def test_list_all_stops_at_the_cap(server: LoopbackServer, stripe: StripeAdapter) -> None:
    server.queue(
        "/v1/charges",
        charge_page(["ch_1", "ch_2", "ch_3"], has_more=True),
        charge_page(["ch_4", "ch_5", "ch_6"], has_more=True),
    )

    result = stripe.list_all(KEY, "/charges", cap=5, page_size=3)

    assert result.success
    assert [item["id"] for item in result.data or []] == ["ch_1", "ch_2", "ch_3", "ch_4", "ch_5"]
    assert len(server.requests) == 2 and server.unscripted == []


def test_list_all_failure_midway_keeps_the_items_already_read(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue(
        "/v1/charges",
        charge_page(["ch_1", "ch_2"], has_more=True),
        Reply(
            status=500,
            json=stripe_error("An unknown error occurred", type="api_error"),
            headers={"Stripe-Should-Retry": "false"},
        ),
    )
    progress: list[tuple[int, int]] = []

    result = stripe.list_all(
        KEY,
        "/charges",
        page_size=2,
        on_progress=lambda pages, items: progress.append((pages, items)),
    )

    assert not result.success
    assert result.error is not None and result.error.code is ErrorCode.PROVIDER_ERROR
    assert [item["id"] for item in result.data or []] == ["ch_1", "ch_2"]
    assert progress == [(1, 2)]


def test_iter_pages_starts_after_a_given_cursor_and_stops_when_done(
    server: LoopbackServer, stripe: StripeAdapter
) -> None:
    server.queue(
        "/v1/customers",
        charge_page(["cus_5"], has_more=True),
        charge_page(["cus_6"], has_more=False),
    )

    pages = list(stripe.iter_pages(KEY, "/customers", page_size=1, starting_after="cus_4"))

    assert [page.data["data"][0]["id"] for page in pages if page.data] == ["cus_5", "cus_6"]
    assert [request.param("starting_after") for request in server.requests] == ["cus_4", "cus_5"]
