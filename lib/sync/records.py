"""Stripe objects as mirror rows: the columns the finance views filter and sort on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

StripeObject = dict[str, Any]


@dataclass(frozen=True)
class CustomerContact:
    """What a charge row repeats from its customer, so filters need no join."""

    email: str | None
    name: str | None


def object_id(value: Any) -> str | None:
    """The id of a Stripe reference that may be an id string or an expanded object."""
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return value if isinstance(value, str) else None


def customer_row(customer: StripeObject) -> dict[str, Any]:
    """The `mirror_customers` columns of a customer object."""
    return {
        "id": customer["id"],
        "created": int(customer["created"]),
        "email": customer.get("email"),
        "name": customer.get("name"),
    }


def charge_row(charge: StripeObject, contact: CustomerContact | None) -> dict[str, Any]:
    """The `mirror_charges` columns of a charge object.

    Email and name come from the mirrored customer when known, else from the charge's billing
    details or receipt email. `search_text` and `customer_text` are lower-cased for search.
    """
    billing = charge.get("billing_details") or {}
    email = (
        (contact.email if contact else None) or billing.get("email") or charge.get("receipt_email")
    )
    name = (contact.name if contact else None) or billing.get("name")
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    description = charge.get("description")
    return {
        "id": charge["id"],
        "created": int(charge["created"]),
        "amount": int(charge["amount"]),
        "amount_refunded": int(charge.get("amount_refunded") or 0),
        "currency": str(charge["currency"]).lower(),
        "status": charge["status"],
        "customer_id": object_id(charge.get("customer")),
        "customer_email": email,
        "customer_name": name,
        "customer_text": search_text(email, name),
        "search_text": search_text(charge["id"], email, description),
        "description": description,
        "refunded": bool(charge.get("refunded")),
        "disputed": bool(charge.get("disputed")),
        "card_brand": card.get("brand"),
        "card_last4": card.get("last4"),
        "failure_code": charge.get("failure_code"),
        "failure_message": charge.get("failure_message"),
        "receipt_url": charge.get("receipt_url"),
        "livemode": bool(charge.get("livemode")),
    }


def refund_row(refund: StripeObject) -> dict[str, Any]:
    """The `mirror_refunds` columns of a refund object."""
    return {
        "id": refund["id"],
        "charge_id": object_id(refund.get("charge")),
        "created": int(refund["created"]),
        "amount": int(refund["amount"]),
        "currency": str(refund["currency"]).lower(),
        "status": refund.get("status"),
        "reason": refund.get("reason"),
    }


def subscription_row(subscription: StripeObject) -> dict[str, Any]:
    """The `mirror_subscriptions` columns of a subscription object."""
    return {
        "id": subscription["id"],
        "customer_id": object_id(subscription.get("customer")),
        "status": subscription["status"],
        "currency": str(subscription.get("currency") or "").lower(),
        "created": int(subscription["created"]),
        "start_date": subscription.get("start_date"),
        "trial_start": subscription.get("trial_start"),
        "trial_end": subscription.get("trial_end"),
        "canceled_at": subscription.get("canceled_at"),
        "ended_at": subscription.get("ended_at"),
        "cancel_at_period_end": bool(subscription.get("cancel_at_period_end")),
    }


def embedded_refunds(charge: Mapping[str, Any]) -> list[StripeObject]:
    """The refund objects a charge carries in `refunds.data` (older API versions, events)."""
    refunds = charge.get("refunds")
    if not isinstance(refunds, dict) or not isinstance(refunds.get("data"), list):
        return []
    return [refund for refund in refunds["data"] if isinstance(refund, dict) and "id" in refund]


def search_text(*parts: str | None) -> str:
    """Lower-cased words to match a search term against (Python's lower, the same on every
    database, unlike SQLite's ASCII-only lower())."""
    return " ".join(part for part in parts if part).lower()
