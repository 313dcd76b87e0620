"""The demo transport answers through a real httpx.Client exactly as Stripe's API would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from lib.demo import DEMO_API_KEY, DemoAccount, DemoStripeTransport, build_demo_account
from lib.demo.data import DAY, HOUR, MINUTE
from tests.time_doubles import Clock

ANCHOR = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ANCHOR_TS = int(ANCHOR.timestamp())
BASE_URL = "https://api.stripe.com/v1"


@pytest.fixture(scope="module")
def account() -> DemoAccount:
    return build_demo_account(ANCHOR)


@pytest.fixture
def clock() -> Clock:
    return Clock(ANCHOR_TS)


@pytest.fixture
def client(account: DemoAccount, clock: Clock) -> Iterator[httpx.Client]:
    with _client(account, clock, {"Authorization": f"Bearer {DEMO_API_KEY}"}) as client:
        yield client


def _client(account: DemoAccount, clock: Clock, headers: dict[str, str]) -> httpx.Client:
    transport = DemoStripeTransport(account, clock=clock)
    return httpx.Client(transport=transport, base_url=BASE_URL, headers=headers)


def visible(objects: tuple[dict[str, Any], ...], now: int = ANCHOR_TS) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["created"] <= now]


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def page_forward(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of a list, following `starting_after` until `has_more` is false."""
    collected: list[dict[str, Any]] = []
    while True:
        body = ok(client.get(path, params={"limit": 100, **params}))
        assert body["object"] == "list" and body["url"] == f"/v1{path}"
        collected += body["data"]
        if not body["has_more"]:
            return collected
        params["starting_after"] = body["data"][-1]["id"]


def test_forward_paging_returns_every_visible_charge_once_newest_first(
    client: httpx.Client, account: DemoAccount
) -> None:
    charges = page_forward(client, "/charges")
    expected = visible(account.charges)
    assert [c["id"] for c in charges] == [c["id"] for c in expected]
    assert len({c["id"] for c in charges}) == len(expected) >= 600
    keys = [(c["created"], c["id"]) for c in charges]
    assert keys == sorted(keys, reverse=True)


def test_default_page_is_ten_and_the_last_page_says_no_more(
    client: httpx.Client, account: DemoAccount
) -> None:
    first = ok(client.get("/charges"))
    assert len(first["data"]) == 10 and first["has_more"] is True
    oldest = visible(account.charges)[-2]["id"]
    last = ok(client.get("/charges", params={"starting_after": oldest}))
    assert len(last["data"]) == 1 and last["has_more"] is False


def test_backward_paging_with_ending_before_walks_to_the_newest(
    client: httpx.Client, account: DemoAccount
) -> None:
    expected = visible(account.charges)
    cursor = expected[250]["id"]
    first = ok(client.get("/charges", params={"limit": 100, "ending_before": cursor}))
    assert [c["id"] for c in first["data"]] == [c["id"] for c in expected[150:250]]
    assert first["has_more"] is True
    collected = first["data"]
    while True:
        params = {"limit": 100, "ending_before": collected[0]["id"]}
        body = ok(client.get("/charges", params=params))
        collected = body["data"] + collected
        if not body["has_more"]:
            break
    assert [c["id"] for c in collected] == [c["id"] for c in expected[:250]]


def test_both_cursors_at_once_is_refused(client: httpx.Client, account: DemoAccount) -> None:
    some = account.charges[-1]["id"]
    params = {"starting_after": some, "ending_before": some}
    assert "only specify one" in error(client.get("/charges", params=params), 400)["message"]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5"])
def test_limit_outside_one_to_hundred_is_a_400_naming_limit(
    client: httpx.Client, limit: str
) -> None:
    body = error(client.get("/charges", params={"limit": limit}), 400)
    assert body["param"] == "limit" and body["type"] == "invalid_request_error"


def test_unknown_cursor_is_a_400_naming_the_cursor(client: httpx.Client) -> None:
    body = error(client.get("/charges", params={"starting_after": "ch_nope"}), 400)
    assert body["message"] == "No such charge: 'ch_nope'"
    assert body["param"] == "starting_after" and body["type"] == "invalid_request_error"
    body = error(client.get("/customers", params={"ending_before": "cus_nope"}), 400)
    assert body["message"] == "No such customer: 'cus_nope'"


def test_filters_charges_by_customer_and_payment_intent(
    client: httpx.Client, account: DemoAccount
) -> None:
    regular = max(
        account.customers,
        key=lambda c: sum(ch["customer"] == c["id"] for ch in visible(account.charges)),
    )
    theirs = page_forward(client, "/charges", customer=regular["id"])
    expected = [c["id"] for c in visible(account.charges) if c["customer"] == regular["id"]]
    assert len(expected) > 1 and [c["id"] for c in theirs] == expected
    charge = visible(account.charges)[42]
    found = ok(client.get("/charges", params={"payment_intent": charge["payment_intent"]}))
    assert [c["id"] for c in found["data"]] == [charge["id"]]


def test_created_filters_exact_and_ranges(client: httpx.Client, account: DemoAccount) -> None:
    start, end = ANCHOR_TS - 7 * DAY, ANCHOR_TS - 6 * DAY
    params = {"created[gte]": start, "created[lt]": end}
    week_old = page_forward(client, "/charges", **params)
    expected = [c["id"] for c in visible(account.charges) if start <= c["created"] < end]
    assert expected and [c["id"] for c in week_old] == expected
    params = {"created[gt]": start, "created[lte]": end}
    between = page_forward(client, "/charges", **params)
    assert all(start < c["created"] <= end for c in between)
    one = visible(account.charges)[7]
    exact = ok(client.get("/charges", params={"created": one["created"]}))
    assert one["id"] in [c["id"] for c in exact["data"]]
    assert {c["created"] for c in exact["data"]} == {one["created"]}


def test_created_filter_refuses_bad_input(client: httpx.Client) -> None:
    body = error(client.get("/charges", params={"created[gt]": "yesterday"}), 400)
    assert body["message"] == "Invalid integer: yesterday" and body["param"] == "created[gt]"
    body = error(client.get("/charges", params={"created[after]": "1"}), 400)
    assert body["message"] == "Received unknown parameter: created[after]"


def test_customers_filter_by_email_and_created(client: httpx.Client, account: DemoAccount) -> None:
    customer = account.customers[17]
    found = ok(client.get("/customers", params={"email": customer["email"]}))
    assert [c["id"] for c in found["data"]] == [customer["id"]]
    recent = page_forward(client, "/customers", **{"created[gte]": ANCHOR_TS - 30 * DAY})
    expected = [c["id"] for c in account.customers if c["created"] >= ANCHOR_TS - 30 * DAY]
    assert expected and [c["id"] for c in recent] == expected


def test_subscriptions_by_status_as_stripe_lists_them(
    client: httpx.Client, account: DemoAccount
) -> None:
    def ids(**params: Any) -> set[str]:
        return {s["id"] for s in page_forward(client, "/subscriptions", **params)}

    def where(*statuses: str) -> set[str]:
        return {s["id"] for s in account.subscriptions if s["status"] in statuses}

    everything = {s["id"] for s in account.subscriptions}
    assert ids() == everything - where("canceled")
    assert ids(status="all") == everything
    assert ids(status="canceled") == where("canceled") != set()
    assert ids(status="ended") == where("canceled", "incomplete_expired")
    assert ids(status="past_due") == where("past_due") != set()
    owner = account.subscriptions[3]["customer"]
    assert ids(customer=owner, status="all") == {
        s["id"] for s in account.subscriptions if s["customer"] == owner
    }
    body = error(client.get("/subscriptions", params={"status": "sleeping"}), 400)
    assert body["param"] == "status"


def test_refunds_filter_by_charge(client: httpx.Client, account: DemoAccount) -> None:
    refund = account.refunds[0]
    found = ok(client.get("/refunds", params={"charge": refund["charge"]}))
    assert found["data"] == [refund]
    assert len(page_forward(client, "/refunds")) == len(visible(account.refunds))


def test_events_type_wildcard_and_types_array(client: httpx.Client, account: DemoAccount) -> None:
    charge_events = page_forward(client, "/events", type="charge.*")
    types = {e["type"] for e in charge_events}
    assert types == {"charge.succeeded", "charge.failed", "charge.pending", "charge.refunded"}
    chosen = page_forward(client, "/events", **{"types[]": ["charge.failed", "charge.refunded"]})
    assert {e["type"] for e in chosen} == {"charge.failed", "charge.refunded"}
    assert len(chosen) == sum(
        e["type"] in {"charge.failed", "charge.refunded"} for e in charge_events
    )
    exact = page_forward(client, "/events", type="customer.created")
    assert exact and {e["type"] for e in exact} == {"customer.created"}
    both = {"type": "charge.*", "types[]": "charge.failed"}
    assert error(client.get("/events", params=both), 400)["param"] == "type"


def test_events_older_than_thirty_days_are_gone(client: httpx.Client, account: DemoAccount) -> None:
    events = page_forward(client, "/events")
    oldest_allowed = ANCHOR_TS - 30 * DAY
    expected = [e for e in visible(account.events) if e["created"] >= oldest_allowed]
    assert [e["id"] for e in events] == [e["id"] for e in expected]
    old = next(e for e in account.events if e["created"] < oldest_allowed)
    assert error(client.get(f"/events/{old['id']}"), 404)["code"] == "resource_missing"
    assert ok(client.get(f"/events/{events[-1]['id']}"))["id"] == events[-1]["id"]


def test_expand_customer_on_lists_and_retrieve(client: httpx.Client, account: DemoAccount) -> None:
    customers = {c["id"]: c for c in account.customers}
    listed = ok(client.get("/charges", params={"expand[]": "data.customer", "limit": 5}))
    for charge in listed["data"]:
        assert charge["customer"]["object"] == "customer"
        assert charge["customer"] == customers[charge["customer"]["id"]]
    charge = visible(account.charges)[3]
    retrieved = ok(client.get(f"/charges/{charge['id']}?expand[0]=customer"))
    assert retrieved["customer"]["email"] == customers[charge["customer"]]["email"]
    subscriptions = ok(client.get("/subscriptions", params={"expand[]": "data.customer"}))
    assert all(s["customer"]["object"] == "customer" for s in subscriptions["data"])
    assert isinstance(account.charges[0]["customer"], str), "stored objects stay unexpanded"
    plain = ok(client.get(f"/charges/{charge['id']}"))
    assert plain["customer"] == charge["customer"]


def test_expand_refuses_what_cannot_be_expanded(client: httpx.Client) -> None:
    body = error(client.get("/charges", params={"expand[]": "customer"}), 400)
    assert body["message"] == "This property cannot be expanded (customer)."
    body = error(client.get("/charges", params={"expand": "data.customer"}), 400)
    assert body["param"] == "expand"


def test_retrieve_each_resource_by_id(client: httpx.Client, account: DemoAccount) -> None:
    for path, objects in (
        ("charges", account.charges),
        ("customers", account.customers),
        ("subscriptions", account.subscriptions),
        ("refunds", account.refunds),
        ("events", account.events),
    ):
        obj = visible(objects)[0]
        assert ok(client.get(f"/{path}/{obj['id']}")) == obj
    assert ok(client.get("/account"))["business_profile"]["name"] == "Demo Coffee Co."


def test_the_prices_subscriptions_use_are_listed_once_and_retrievable(
    client: httpx.Client, account: DemoAccount
) -> None:
    used = {
        item["price"]["id"]: item["price"]
        for s in account.subscriptions
        for item in s["items"]["data"]
    }

    listed = page_forward(client, "/prices", **{"expand[]": "data.tiers"})

    assert sorted(price["id"] for price in listed) == sorted(used)
    some = next(iter(used.values()))
    assert ok(client.get(f"/prices/{some['id']}", params={"expand[]": "tiers"})) == some


def test_unknown_id_is_stripes_404_json(client: httpx.Client) -> None:
    response = client.get("/charges/ch_x")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such charge: 'ch_x'",
            "param": "id",
            "type": "invalid_request_error",
        }
    }
    assert error(client.get("/subscriptions/sub_x"), 404)["message"] == (
        "No such subscription: 'sub_x'"
    )


def test_unknown_path_and_parameter(client: httpx.Client) -> None:
    body = error(client.get("/foo"), 404)
    assert body["message"].startswith("Unrecognized request URL (GET: /v1/foo).")
    assert error(client.get("/charges/ch_x/capture"), 404)["type"] == "invalid_request_error"
    assert error(client.get("https://api.stripe.com/v2/charges"), 404)
    body = error(client.get("/charges", params={"colour": "blue"}), 400)
    assert body["message"] == "Received unknown parameter: colour"
    assert body["param"] == "colour" and body["code"] == "parameter_unknown"
    body = error(client.get("/customers/cus_x", params={"limit": 3}), 400)
    assert body["message"] == "Received unknown parameter: limit"


def test_writes_are_refused_because_the_demo_is_read_only(client: httpx.Client) -> None:
    body = error(client.post("/charges", data={"amount": 500, "currency": "usd"}), 400)
    assert "read-only" in body["message"] and body["type"] == "invalid_request_error"
    assert error(client.delete("/customers/cus_x"), 400)


@pytest.mark.parametrize(
    ("authorization", "shown"),
    [
        ("Bearer sk_test_51SomeoneElsesKeyabcd", "sk_test_****abcd"),
        ("Bearer not-a-stripe-key-at-all", "****-all"),
        ("Bearer sk_live_short", "sk_live_****"),
    ],
)
def test_wrong_key_is_401_without_echoing_it(
    account: DemoAccount, clock: Clock, authorization: str, shown: str
) -> None:
    with _client(account, clock, {"Authorization": authorization}) as client:
        response = client.get("/charges")
    body = error(response, 401)
    assert body == {
        "message": f"Invalid API Key provided: {shown}",
        "type": "invalid_request_error",
    }
    assert authorization.removeprefix("Bearer ") not in response.text


def test_missing_key_is_401(account: DemoAccount, clock: Clock) -> None:
    with _client(account, clock, {}) as client:
        body = error(client.get("/charges"), 401)
    assert body["message"].startswith("You did not provide an API key.")


def test_headers_like_stripes(client: httpx.Client) -> None:
    response = client.get("/charges", params={"limit": 1})
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Stripe-Version"] == "2024-06-20"
    pinned = client.get("/charges", headers={"Stripe-Version": "2023-10-16"})
    assert pinned.headers["Stripe-Version"] == "2023-10-16"
    assert client.get("/charges/ch_x").headers["Request-Id"].startswith("req_")


def test_live_tail_appears_as_the_clock_advances(
    client: httpx.Client, clock: Clock, account: DemoAccount
) -> None:
    before = ok(client.get("/charges", params={"limit": 100}))["data"]
    assert before[0]["created"] <= ANCHOR_TS
    upcoming = next(c for c in reversed(account.charges) if c["created"] > ANCHOR_TS)
    assert error(client.get(f"/charges/{upcoming['id']}"), 404)
    clock.now = ANCHOR_TS + HOUR
    after = ok(client.get("/charges", params={"limit": 100}))["data"]
    new = [c for c in after if c["created"] > ANCHOR_TS]
    assert 60 // 8 <= len(new) <= 60 // 2
    assert all(c["created"] <= ANCHOR_TS + HOUR for c in after)
    assert ok(client.get(f"/charges/{upcoming['id']}"))["id"] == upcoming["id"]
    params = {"created[gt]": ANCHOR_TS, "type": "charge.*", "limit": 100}
    events = ok(client.get("/events", params=params))["data"]
    assert {e["data"]["object"]["id"] for e in events} == {c["id"] for c in new}


def test_without_an_account_it_builds_one_at_the_clock(clock: Clock) -> None:
    clock.now = ANCHOR_TS + 5 * DAY
    transport = DemoStripeTransport(clock=clock)
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    with httpx.Client(transport=transport, base_url=BASE_URL, headers=headers) as client:
        recent = ok(client.get("/charges", params={"created[gt]": clock.now - 20 * MINUTE}))
    assert len(recent["data"]) >= 3
