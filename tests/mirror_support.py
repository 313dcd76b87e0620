"""Charges shaped like Stripe's, and the app's local copy (mirror) of an account marked synced,
for the tests of the pages that read the copy."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from lib.sync import SYNC_ORDER
from lib.sync.state import record_page


def charge_object(
    charge_id: str, amount: int, currency: str, *, created: int, **fields: Any
) -> dict[str, Any]:
    """A charge as Stripe's API returns it: succeeded, paid by a Visa card, no customer, not
    refunded or disputed, described "Order <id>"; `fields` replace any of its values."""
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": 0,
        "currency": currency,
        "created": created,
        "status": "succeeded",
        "customer": None,
        "description": f"Order {charge_id}",
        "refunded": False,
        "disputed": False,
        "livemode": False,
        "failure_code": None,
        "failure_message": None,
        "receipt_url": None,
        "billing_details": {"email": "ana@example.com", "name": None},
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
        **fields,
    }


def record_synced(connection: Connection, account_key: str) -> None:
    """Every resource of `account_key`'s copy counts as synced to the end, so a page that reads
    the copy starts no sync."""
    for resource in SYNC_ORDER:
        record_page(
            connection, account_key, resource, cursor=None, newest_created=None, finished=True
        )
