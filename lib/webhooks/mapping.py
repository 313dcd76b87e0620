"""Stripe event types to mesh event names and payloads (the names widgets subscribe to).

The names and the fields of each payload are those of the event catalogue's server events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from lib.events.catalogue import ACCOUNT_DEAUTHORIZED, SERVER_EVENTS, UNMAPPED_STRIPE_PREFIX

MESH_NAMES: Mapping[str, str] = MappingProxyType(
    {event.stripe_type: event.name for event in SERVER_EVENTS if event.stripe_type is not None}
)
DEAUTHORIZED_EVENT = ACCOUNT_DEAUTHORIZED.name
_NOT_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class MeshEvent:
    """What a Stripe event becomes on the mesh: its name and payload."""

    name: str
    payload: dict[str, Any]


def mesh_name_for(stripe_type: str) -> str:
    """The mesh name for a Stripe event type; unmapped types become `stripe.event.<type>`."""
    mapped = MESH_NAMES.get(stripe_type)
    if mapped is not None:
        return mapped
    # The mesh accepts only dot-separated words; Stripe types already are, but stay safe.
    words = [word for word in _NOT_NAME_CHARACTERS.sub("_", stripe_type).split(".") if word]
    return ".".join([UNMAPPED_STRIPE_PREFIX, *(words or ["unknown"])])


def to_mesh_event(event: Mapping[str, Any]) -> MeshEvent:
    """The mesh event for a Stripe event (a parsed `event` object).

    The payload has exactly the catalogue's fields for the name: always `id, amount, currency,
    customer, status, stripe_event_id, type` (null when the object has no such field), where
    `customer` is the customer id even when Stripe expanded it; a refund adds `amount_refunded`;
    a deauthorization's `id` is the account id and it adds `application`.
    """
    stripe_type = str(event.get("type") or "")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    obj = obj if isinstance(obj, Mapping) else {}
    payload: dict[str, Any] = {
        "id": _text(obj.get("id")),
        "amount": _integer(obj.get("amount")),
        "currency": _text(obj.get("currency")),
        "customer": _customer_id(obj.get("customer")),
        "status": _text(obj.get("status")),
        "stripe_event_id": _text(event.get("id")),
        "type": stripe_type,
    }
    if stripe_type == "charge.refunded":
        payload["amount_refunded"] = _integer(obj.get("amount_refunded"))
    elif stripe_type == "invoice.payment_failed":
        payload["amount"] = _integer(obj.get("amount_due"))
    elif stripe_type == "account.application.deauthorized":
        payload["id"] = _text(event.get("account"))
        payload["application"] = _text(obj.get("id"))
        payload["status"] = "deauthorized"
    return MeshEvent(name=mesh_name_for(stripe_type), payload=payload)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    # Amounts are integers in minor units; a bool is not an amount.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _customer_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)
