"""An httpx transport that answers Stripe's REST API (2024-06-20) from the demo account.

The app plugs it in where a real connection would go, so the demo runs the production path:
`httpx.Client(transport=DemoStripeTransport(), base_url="https://api.stripe.com/v1")`.
"""

from __future__ import annotations

import hmac
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from lib.config import STRIPE_API_VERSION
from lib.demo.data import DAY, DemoAccount, StripeObject, build_demo_account
from lib.demo.data.seeded import newest_first
from lib.demo.listing import (
    Predicate,
    QueryValue,
    StripeRequestError,
    created_filter,
    no_such,
    paginate,
    parse_query,
    read_limit,
    read_string,
    read_strings,
    unknown_parameter,
)
from lib.events.patterns import InvalidPatternError, pattern_matches, validate_pattern

DEMO_API_KEY = "sk_test_demo_DemoCoffeeCoReadOnlyKey"
"""The demo account's secret key: the app sends it as `Authorization: Bearer ...`."""

EVENT_RETENTION = 30 * DAY
_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")
_SUBSCRIPTION_STATUSES = (
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
)
_ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
_REQUEST_ID_ALPHABET = string.ascii_letters + string.digits

FilterBuilder = Callable[[QueryValue | None, str], Predicate | None]
"""Turns one query parameter's value (None when absent) into a predicate, or None to keep all."""


def _field_equals(field_name: str) -> FilterBuilder:
    def build(value: QueryValue | None, param: str) -> Predicate | None:
        if value is None:
            return None
        expected = read_string(value, param)
        return lambda obj: obj[field_name] == expected

    return build


def _subscription_status(value: QueryValue | None, param: str) -> Predicate | None:
    if value is None:
        return lambda subscription: subscription["status"] != "canceled"
    status = read_string(value, param)
    if status == "all":
        return None
    if status == "ended":
        return lambda subscription: subscription["status"] in _ENDED_STATUSES
    if status not in _SUBSCRIPTION_STATUSES:
        allowed = ", ".join((*_SUBSCRIPTION_STATUSES, "ended", "all"))
        raise StripeRequestError(400, f"Invalid status: must be one of {allowed}", param=param)
    return lambda subscription: subscription["status"] == status


def _event_type(value: QueryValue | None, param: str) -> Predicate | None:
    if value is None:
        return None
    pattern = read_string(value, param)
    try:
        validate_pattern(pattern)
    except InvalidPatternError:
        # Stripe answers a type no event can have with an empty list, not an error.
        return lambda event: False
    return lambda event: pattern_matches(pattern, event["type"])


def _event_types(value: QueryValue | None, param: str) -> Predicate | None:
    if value is None:
        return None
    types = frozenset(read_strings(value, param))
    return lambda event: event["type"] in types


@dataclass(frozen=True)
class _Resource:
    """One listable, retrievable Stripe resource such as `/v1/charges`."""

    path: str
    object_name: str
    objects: tuple[StripeObject, ...]
    filters: Mapping[str, FilterBuilder] = field(default_factory=dict)
    expandable: frozenset[str] = frozenset()
    retention: int | None = None
    exclusive: tuple[str, ...] = ()
    by_id: dict[str, StripeObject] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {obj["id"]: obj for obj in self.objects})

    def is_visible(self, obj: StripeObject, now: int) -> bool:
        created = obj["created"]
        return created <= now and (self.retention is None or created >= now - self.retention)

    def visible(self, now: int) -> list[StripeObject]:
        return [obj for obj in self.objects if self.is_visible(obj, now)]

    def find(self, object_id: str, now: int) -> StripeObject | None:
        obj = self.by_id.get(object_id)
        return obj if obj is not None and self.is_visible(obj, now) else None


def mask_api_key(key: str) -> str:
    """The key as Stripe quotes it in errors: its prefix, asterisks, at most the last 4 chars."""
    prefix = next((p for p in _KEY_PREFIXES if key.startswith(p)), "")
    rest = key[len(prefix) :]
    return f"{prefix}****{rest[-4:] if len(rest) > 8 else ''}"


def _unrecognized(method: str, path: str) -> StripeRequestError:
    return StripeRequestError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def _refuse_leftovers(query: dict[str, QueryValue]) -> None:
    """Raise Stripe's error for the first parameter no step of the request consumed."""
    if query:
        raise unknown_parameter(next(iter(query)))


def subscription_prices(subscriptions: tuple[StripeObject, ...]) -> tuple[StripeObject, ...]:
    """The prices `subscriptions` use, once each, newest first (as `/v1/prices` lists them)."""
    prices: dict[str, StripeObject] = {}
    for subscription in subscriptions:
        for item in subscription["items"]["data"]:
            price = item.get("price")
            if isinstance(price, dict) and isinstance(price.get("created"), int):
                prices.setdefault(price["id"], price)
    return newest_first(list(prices.values()))


def _as_listed(resource: str, obj: StripeObject, fields: frozenset[str]) -> StripeObject:
    """`obj` without the fields Stripe sends only on request: a price's `tiers` unless expanded,
    and always on a subscription's item prices (five levels deep: Stripe cannot expand them)."""
    if resource == "prices" and "tiers" in obj and "tiers" not in fields:
        return {key: value for key, value in obj.items() if key != "tiers"}
    if resource != "subscriptions":
        return obj
    items = obj["items"]["data"]
    if not any("tiers" in (item.get("price") or {}) for item in items):
        return obj
    listed = [
        {**item, "price": {k: v for k, v in item["price"].items() if k != "tiers"}}
        if "tiers" in (item.get("price") or {})
        else item
        for item in items
    ]
    return {**obj, "items": {**obj["items"], "data": listed}}


class DemoStripeTransport(httpx.BaseTransport):
    """Answers GET requests for Stripe's charges, customers, subscriptions, prices, refunds,
    events and account from a `DemoAccount`, as Stripe would: auth, list paging, filters, expand,
    errors.

    Objects appear once `clock()` has reached their `created`, so the live tail shows up as
    time passes; events older than 30 days disappear, as on Stripe.
    """

    def __init__(
        self, account: DemoAccount | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self.account = account or build_demo_account(datetime.fromtimestamp(clock(), UTC))
        customers = _Resource(
            "customers",
            "customer",
            self.account.customers,
            filters={"email": _field_equals("email")},
        )
        resources = (
            customers,
            _Resource(
                "charges",
                "charge",
                self.account.charges,
                filters={
                    "customer": _field_equals("customer"),
                    "payment_intent": _field_equals("payment_intent"),
                },
                expandable=frozenset({"customer"}),
            ),
            _Resource(
                "subscriptions",
                "subscription",
                self.account.subscriptions,
                filters={"customer": _field_equals("customer"), "status": _subscription_status},
                expandable=frozenset({"customer"}),
            ),
            _Resource(
                "prices",
                "price",
                subscription_prices(self.account.subscriptions),
                expandable=frozenset({"tiers"}),
            ),
            _Resource(
                "refunds",
                "refund",
                self.account.refunds,
                filters={
                    "charge": _field_equals("charge"),
                    "payment_intent": _field_equals("payment_intent"),
                },
            ),
            _Resource(
                "events",
                "event",
                self.account.events,
                filters={"type": _event_type, "types": _event_types},
                retention=EVENT_RETENTION,
                exclusive=("type", "types"),
            ),
        )
        self._customers = customers
        self._resources = {resource.path: resource for resource in resources}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Stripe's answer to `request`: 200 with the object or list, else Stripe's error JSON."""
        try:
            status, body = 200, self._answer(request)
        except StripeRequestError as error:
            status, body = error.status, error.body()
        headers = {
            "Request-Id": "req_" + "".join(secrets.choice(_REQUEST_ID_ALPHABET) for _ in range(14)),
            "Stripe-Version": request.headers.get("Stripe-Version", STRIPE_API_VERSION),
        }
        return httpx.Response(status, json=body, headers=headers)

    def _answer(self, request: httpx.Request) -> StripeObject:
        method, path = request.method, request.url.path
        if not path.startswith("/v1/"):
            raise _unrecognized(method, path)
        self._authenticate(request.headers.get("Authorization"))
        if method != "GET":
            raise StripeRequestError(
                400,
                f"The demo account is read-only: {method} {path} is not available. "
                "Connect your own Stripe account to make changes.",
            )
        query = parse_query(request.url.params.multi_items())
        now = int(self._clock())
        segments = path.removeprefix("/v1/").split("/")
        if segments == ["account"]:
            self._expansions(query, "", frozenset())
            _refuse_leftovers(query)
            return self.account.account
        resource = self._resources.get(segments[0])
        if resource is None or len(segments) > 2 or "" in segments:
            raise _unrecognized(method, path)
        if len(segments) == 1:
            return self._list(resource, query, now)
        return self._retrieve(resource, segments[1], query, now)

    def _authenticate(self, header: str | None) -> None:
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise StripeRequestError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        if not hmac.compare_digest(key.encode(), DEMO_API_KEY.encode()):
            raise StripeRequestError(401, f"Invalid API Key provided: {mask_api_key(key)}")

    def _expansions(
        self, query: dict[str, QueryValue], prefix: str, expandable: frozenset[str]
    ) -> frozenset[str]:
        """Pop `expand` from the query; refuse paths this endpoint cannot expand."""
        value = query.pop("expand", None)
        if value is None:
            return frozenset()
        fields = set()
        for path in read_strings(value, "expand"):
            name = path.removeprefix(prefix) if path.startswith(prefix) else None
            if name not in expandable:
                raise StripeRequestError(
                    400, f"This property cannot be expanded ({path}).", param="expand"
                )
            fields.add(name)
        return frozenset(fields)

    def _expand(self, obj: StripeObject, fields: frozenset[str], now: int) -> StripeObject:
        if "customer" not in fields or not isinstance(obj.get("customer"), str):
            return obj
        customer = self._customers.find(obj["customer"], now)
        return obj if customer is None else {**obj, "customer": customer}

    def _list(self, resource: _Resource, query: dict[str, QueryValue], now: int) -> StripeObject:
        for group in (("ending_before", "starting_after"), resource.exclusive):
            given = [name for name in group if name in query]
            if len(given) > 1:
                names = ", ".join(group)
                raise StripeRequestError(
                    400, f"You may only specify one of these parameters: {names}.", param=given[0]
                )
        limit = read_limit(query.pop("limit", None))
        cursors = {
            name: self._cursor(resource, read_string(query.pop(name), name), name, now)
            for name in ("starting_after", "ending_before")
            if name in query
        }
        predicates = [created_filter(query.pop("created"))] if "created" in query else []
        for name, build in resource.filters.items():
            predicate = build(query.pop(name, None), name)
            if predicate is not None:
                predicates.append(predicate)
        fields = self._expansions(query, "data.", resource.expandable)
        _refuse_leftovers(query)
        matching = [obj for obj in resource.visible(now) if all(p(obj) for p in predicates)]
        page = paginate(matching, limit, **cursors)
        return {
            "object": "list",
            "data": [
                _as_listed(resource.path, self._expand(obj, fields, now), fields)
                for obj in page.data
            ],
            "has_more": page.has_more,
            "url": f"/v1/{resource.path}",
        }

    def _cursor(self, resource: _Resource, object_id: str, param: str, now: int) -> StripeObject:
        cursor = resource.find(object_id, now)
        if cursor is None:
            raise no_such(resource.object_name, object_id, param=param, status=400)
        return cursor

    def _retrieve(
        self, resource: _Resource, object_id: str, query: dict[str, QueryValue], now: int
    ) -> StripeObject:
        fields = self._expansions(query, "", resource.expandable)
        _refuse_leftovers(query)
        obj = resource.find(object_id, now)
        if obj is None:
            raise no_such(resource.object_name, object_id, param="id", status=404)
        return _as_listed(resource.path, self._expand(obj, fields, now), fields)
