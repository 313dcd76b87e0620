""" "Send test event": a signed Stripe-shaped event posted to the app's own webhook endpoint,
so the whole chain (signature check, storage, worker, workflow runs) runs as for Stripe's."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stripe

from lib.config import STRIPE_API_VERSION, Settings
from lib.webhooks.receiver import WEBHOOK_PATH

SAMPLE_EVENT_TYPES: Mapping[str, str] = {
    "charge.succeeded": "A payment succeeded",
    "charge.failed": "A payment failed",
    "customer.subscription.deleted": "A subscription was cancelled",
}
SAMPLE_CUSTOMER: dict[str, Any] = {
    "id": "cus_test_workflows",
    "object": "customer",
    "email": "test.customer@example.com",
    "phone": "+15005550006",
    "name": "Test customer",
}


@dataclass(frozen=True)
class SampleDelivery:
    """What the endpoint answered to the test event."""

    event_id: str
    status: int | None
    message: str


def sample_event(event_type: str) -> dict[str, Any]:
    """A Stripe event of `event_type` about a test customer, with a fresh `evt_test_` id."""
    if event_type not in SAMPLE_EVENT_TYPES:
        raise ValueError(f"no test event for {event_type!r}")
    suffix = secrets.token_hex(8)
    if event_type == "customer.subscription.deleted":
        obj: dict[str, Any] = {
            "id": f"sub_test_{suffix}",
            "object": "subscription",
            "customer": SAMPLE_CUSTOMER,
            "status": "canceled",
            "currency": "usd",
        }
    else:
        succeeded = event_type == "charge.succeeded"
        obj = {
            "id": f"ch_test_{suffix}",
            "object": "charge",
            "amount": 2500,
            "currency": "usd",
            "customer": SAMPLE_CUSTOMER,
            "status": "succeeded" if succeeded else "failed",
            "billing_details": {
                "email": SAMPLE_CUSTOMER["email"],
                "phone": SAMPLE_CUSTOMER["phone"],
            },
        }
    return {
        "id": f"evt_test_{suffix}",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }


def send_sample_event(settings: Settings, app_base_url: str, event_type: str) -> SampleDelivery:
    """Post a test event signed with the first STRIPE_WEBHOOK_SECRET to `app_base_url`'s
    webhook endpoint; without a secret nothing is sent and the message says what to set."""
    event = sample_event(event_type)
    secrets_set = settings.webhook_secrets
    if not secrets_set:
        return SampleDelivery(
            event["id"],
            None,
            "Set STRIPE_WEBHOOK_SECRET: test events are signed like Stripe's and go through "
            "the app's own webhook endpoint.",
        )
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secrets_set[0])
    try:
        answer = httpx.post(
            app_base_url.rstrip("/") + WEBHOOK_PATH,
            content=body.encode(),
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        return SampleDelivery(
            event["id"], None, f"The webhook endpoint did not answer: {type(exc).__name__}."
        )
    if answer.is_success:
        return SampleDelivery(
            event["id"], answer.status_code, "The endpoint stored the test event."
        )
    return SampleDelivery(
        event["id"], answer.status_code, f"The endpoint refused it with HTTP {answer.status_code}."
    )
