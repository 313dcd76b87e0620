"""The demo account's event log: one Stripe event for each change the generators make."""

from __future__ import annotations

import uuid

from lib.config import STRIPE_API_VERSION
from lib.demo.data.seeded import Generation, StripeObject


def record_event(
    generation: Generation,
    event_type: str,
    obj: StripeObject,
    *,
    created: int | None = None,
    previous: StripeObject | None = None,
    automatic: bool = False,
) -> None:
    """Append an event about `obj` (at its `created` unless given) to the generation's events.

    `previous` becomes `data.previous_attributes`; an `automatic` event has no API request.
    """
    rng = generation.rng
    request = (
        {"id": None, "idempotency_key": None}
        if automatic
        else {
            "id": generation.new_id("req_", 14),
            "idempotency_key": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }
    )
    data: StripeObject = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    generation.events.append(
        {
            "id": generation.new_id("evt_"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": obj["created"] if created is None else created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": request,
            "type": event_type,
        }
    )
