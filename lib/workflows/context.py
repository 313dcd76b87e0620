"""What a run's templates can read: the trigger event's payload, values from the Stripe object
(and the local copy of its customer), later the outputs of earlier steps.

Every value from Stripe is bounded and typed before it is kept; amounts are formatted with
the app's money formatting (the raw payload, in minor units, stays for conditions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.money import format_money
from lib.safe_url import http_url
from lib.store.tables import mirror_objects, webhook_events
from lib.webhooks.events_store import ServerEvent

MAX_TEXT = 512
MAX_RAW_EVENT_CHARS = 1_000_000
_PHONE = re.compile(r"^\+?[0-9 ().-]{6,32}$")
_MONEY_FIELDS = ("amount", "amount_refunded")


def event_context(engine: Engine, event: ServerEvent) -> dict[str, Any]:
    """The context a run starts with: `values` for templates, `payload` for conditions and
    `unknown`, the names a dry run upstream could not know."""
    payload = {key: _scalar(value) for key, value in event.payload.items()}
    values: dict[str, Any] = dict(payload)
    for field in _MONEY_FIELDS:
        amount, currency = payload.get(field), payload.get("currency")
        if isinstance(amount, int) and not isinstance(amount, bool) and isinstance(currency, str):
            values[field] = format_money(amount, currency) or None
    unknown: list[str] = []
    if event.source == "workflow":
        # Values a dry-run step upstream could not know stay as placeholders in later dry runs.
        if payload.get("dry_run") is True:
            unknown = [key for key, value in payload.items() if value is None]
    else:
        values.update(_customer_values(engine, event))
    return {"values": values, "payload": payload, "unknown": unknown}


def _customer_values(engine: Engine, event: ServerEvent) -> dict[str, Any]:
    obj = _stripe_object(engine, event.id)
    customer = obj.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    details = obj.get("billing_details") if isinstance(obj.get("billing_details"), dict) else {}
    expanded = customer if isinstance(customer, dict) else {}
    stored = _stored_customer(engine, customer_id) if isinstance(customer_id, str) else {}
    own = obj if obj.get("object") == "customer" else {}
    invoice = obj.get("invoice")
    invoice_id = invoice.get("id") if isinstance(invoice, dict) else invoice
    if obj.get("object") == "invoice":
        invoice_id, invoice = obj.get("id"), obj
    hosted = invoice.get("hosted_invoice_url") if isinstance(invoice, dict) else None
    return {
        "customer_email": _first_text(
            details.get("email"),
            obj.get("receipt_email"),
            obj.get("customer_email"),
            own.get("email"),
            expanded.get("email"),
            stored.get("email"),
        ),
        "customer_phone": _phone(
            details.get("phone"),
            obj.get("customer_phone"),
            own.get("phone"),
            expanded.get("phone"),
            stored.get("phone"),
        ),
        "customer_name": _first_text(
            details.get("name"), own.get("name"), expanded.get("name"), stored.get("name")
        ),
        "invoice": _first_text(invoice_id),
        "invoice_url": http_url(hosted) if isinstance(hosted, str) else None,
    }


def _stripe_object(engine: Engine, row_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        raw = connection.execute(
            sa.select(webhook_events.c.payload).where(webhook_events.c.id == row_id)
        ).scalar()
    return _object_of(raw)


def _stored_customer(engine: Engine, customer_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        raw = connection.execute(
            sa.select(mirror_objects.c.raw)
            .where(mirror_objects.c.object_type == "customer", mirror_objects.c.id == customer_id)
            .limit(1)
        ).scalar()
    if not isinstance(raw, str) or len(raw) > MAX_RAW_EVENT_CHARS:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _object_of(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_RAW_EVENT_CHARS:
        return {}
    try:
        event = json.loads(raw)
    except ValueError:
        return {}
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None


def _first_text(*candidates: Any) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:MAX_TEXT]
    return None


def _phone(*candidates: Any) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and _PHONE.match(candidate.strip()):
            return candidate.strip()
    return None


def plain_missing(name: str) -> str:
    """Why a step was skipped when `name` had no value, in plain words."""
    reasons: Mapping[str, str] = {
        "customer_phone": "the customer has no phone number",
        "customer_email": "the customer has no email address",
        "customer_name": "the customer has no name",
        "link.url": "there is no page where the customer can pay",
        "invoice": "the payment has no invoice",
    }
    return reasons.get(name, f"{{{name}}} has no value")
