"""The tiers of tiered prices that mirrored subscriptions use, so MRR can price them.

Stripe sends a price's `tiers` only when asked, and cannot be asked from a subscription list:
`data.items.data.price.tiers` is five levels deep and Stripe expands at most four
(https://docs.stripe.com/api/expanding_objects). So after a sync, each tiered price the mirror
lacks tiers for is retrieved once (`GET /v1/prices/{id}?expand[]=tiers`) and its tiers written
into the stored subscriptions that use it; an event (which never carries tiers) keeps the tiers
its subscription's stored copy had. A price's tiers cannot change once it exists, so tiers
copied by price id stay right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.providers.stripe import StripeAdapter
from lib.providers.types import ProviderCredentials, RequestOptions
from lib.store.tables import mirror_objects
from lib.sync.records import StripeObject

MAX_PRICES_PER_SYNC = 200
"""Retrieve at most this many prices per sync; the next sync continues with the rest."""
_MAX_PRICE_ID = 255

Tiers = list[Any]


def untiered_price_ids(subscription: StripeObject) -> set[str]:
    """Ids of the tiered prices `subscription` uses whose tiers it does not carry."""
    return {
        price["id"]
        for price in _prices(subscription)
        if price.get("billing_scheme") == "tiered"
        and not isinstance(price.get("tiers"), list)
        and isinstance(price.get("id"), str)
    }


def with_known_tiers(
    connection: Connection, account_key: str, subscriptions: list[StripeObject]
) -> list[StripeObject]:
    """`subscriptions`, each given the tiers its stored copy already had for the same prices."""
    lacking = [s["id"] for s in subscriptions if untiered_price_ids(s)]
    if not lacking:
        return subscriptions
    known = _known_tiers(_stored_subscriptions(connection, account_key, lacking).values())
    return [_filled(subscription, known) for subscription in subscriptions]


def fill_price_tiers(
    engine: Engine, account_key: str, adapter: StripeAdapter, credentials: ProviderCredentials
) -> int:
    """Retrieve the tiers the account's mirrored subscriptions lack and store them; returns the
    number of requests made. A price Stripe does not return is left without tiers (MRR then
    says it could not price those items)."""
    with engine.connect() as connection:
        stored = _stored_subscriptions(connection, account_key, None, tiered_only=True)
    needing = {sub_id: obj for sub_id, obj in stored.items() if untiered_price_ids(obj)}
    if not needing:
        return 0
    known = _known_tiers(stored.values())
    wanted = sorted({p for obj in needing.values() for p in untiered_price_ids(obj)} - set(known))
    requests = 0
    for price_id in wanted[:MAX_PRICES_PER_SYNC]:
        if not 0 < len(price_id) <= _MAX_PRICE_ID:
            continue
        response = adapter.request(
            credentials,
            RequestOptions(
                endpoint=f"/prices/{quote(price_id, safe='')}", params={"expand": ["tiers"]}
            ),
        )
        requests += response.attempts
        price = response.data if response.success else None
        tiers = price.get("tiers") if isinstance(price, dict) else None
        if isinstance(tiers, list):
            known[price_id] = tiers
    with engine.begin() as connection:
        for sub_id, obj in needing.items():
            filled = _filled(obj, known)
            if filled is not obj:
                _replace_raw(connection, account_key, sub_id, obj, filled)
    return requests


def _prices(subscription: StripeObject) -> Iterable[dict[str, Any]]:
    items = subscription.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    for item in data if isinstance(data, list) else []:
        price = item.get("price") if isinstance(item, dict) else None
        if isinstance(price, dict):
            yield price


def _known_tiers(subscriptions: Iterable[StripeObject]) -> dict[str, Tiers]:
    return {
        price["id"]: price["tiers"]
        for subscription in subscriptions
        for price in _prices(subscription)
        if isinstance(price.get("id"), str) and isinstance(price.get("tiers"), list)
    }


def _filled(subscription: StripeObject, known: dict[str, Tiers]) -> StripeObject:
    """A copy with known tiers added to its tiered prices (`subscription` itself if none)."""
    missing = untiered_price_ids(subscription) & set(known)
    if not missing:
        return subscription
    items = []
    for item in subscription["items"]["data"]:
        price = item.get("price") if isinstance(item, dict) else None
        if isinstance(price, dict) and price.get("id") in missing:
            item = {**item, "price": {**price, "tiers": known[price["id"]]}}
        items.append(item)
    return {**subscription, "items": {**subscription["items"], "data": items}}


def _stored_subscriptions(
    connection: Connection, account_key: str, ids: list[str] | None, *, tiered_only: bool = False
) -> dict[str, StripeObject]:
    query = sa.select(mirror_objects.c.id, mirror_objects.c.raw).where(
        mirror_objects.c.account_key == account_key,
        mirror_objects.c.object_type == "subscription",
    )
    if ids is not None:
        query = query.where(mirror_objects.c.id.in_(ids))
    if tiered_only:
        # Raw copies are compact JSON (see _dumps), so this skips the per-unit majority unread.
        query = query.where(mirror_objects.c.raw.contains('"billing_scheme":"tiered"'))
    stored = {}
    for row in connection.execute(query):
        obj = json.loads(row.raw)
        if isinstance(obj, dict):
            stored[row.id] = obj
    return stored


def _replace_raw(
    connection: Connection,
    account_key: str,
    sub_id: str,
    before: StripeObject,
    after: StripeObject,
) -> None:
    # Only if no event changed the copy meanwhile: that one keeps its own tiers, or gets them
    # at the next sync.
    connection.execute(
        mirror_objects.update()
        .where(
            mirror_objects.c.account_key == account_key,
            mirror_objects.c.object_type == "subscription",
            mirror_objects.c.id == sub_id,
            mirror_objects.c.raw == _dumps(before),
        )
        .values(raw=_dumps(after))
    )


def _dumps(obj: StripeObject) -> str:
    # The same separators as the store writes, so a stored copy compares equal to its reload.
    return json.dumps(obj, separators=(",", ":"))
