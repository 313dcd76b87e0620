"""The demo Stripe account itself and `build_demo_account`, which generates all its objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lib.demo.data.charges import generate_charges
from lib.demo.data.customers import generate_customers
from lib.demo.data.events import record_event
from lib.demo.data.seeded import DAY, Generation, StripeObject, newest_first
from lib.demo.data.subscriptions import generate_subscriptions

BUSINESS_NAME = "Demo Coffee Co."


@dataclass(frozen=True)
class DemoAccount:
    """The demo account's objects; each tuple is newest first (created, then id, descending).

    Objects are shared by every request that reads them: treat them as read-only.
    """

    anchor: int
    account: StripeObject
    customers: tuple[StripeObject, ...]
    charges: tuple[StripeObject, ...]
    refunds: tuple[StripeObject, ...]
    subscriptions: tuple[StripeObject, ...]
    events: tuple[StripeObject, ...]


def build_demo_account(anchor: datetime | None = None) -> DemoAccount:
    """Build the demo account around `anchor` (default: now; a naive datetime is taken as UTC).

    The same anchor always gives equal objects. About 720 charges fall in the 90 days before
    the anchor (at least 3 in its last 20 minutes) and about 2,000 in the 7 days after it.
    """
    moment = anchor or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # The parts draw from one rng, so this order is part of what the dataset is.
    generation = Generation(int(moment.timestamp()))
    payers = generate_customers(generation)
    charges, refunds = generate_charges(generation, payers)
    subscriptions = generate_subscriptions(generation, payers)
    customers = [payer.customer for payer in payers]
    for customer in customers:
        record_event(generation, "customer.created", {**customer, "delinquent": False})
    return DemoAccount(
        anchor=generation.anchor,
        account=_account_object(generation),
        customers=newest_first(customers),
        charges=newest_first(charges),
        refunds=newest_first(refunds),
        subscriptions=newest_first(subscriptions),
        events=newest_first(generation.events),
    )


def _account_object(generation: Generation) -> StripeObject:
    return {
        "id": generation.account_id,
        "object": "account",
        "business_profile": {
            "mcc": "5499",
            "name": BUSINESS_NAME,
            "product_description": "Roasted coffee, brewing gear and coffee subscriptions.",
            "support_email": "support@demo-coffee.example.com",
            "support_phone": None,
            "support_url": "https://demo-coffee.example.com/help",
            "url": "https://demo-coffee.example.com",
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "country": "US",
        "created": generation.anchor - 1_000 * DAY,
        "default_currency": "usd",
        "details_submitted": True,
        "email": "owner@demo-coffee.example.com",
        "livemode": False,
        "metadata": {},
        "payouts_enabled": True,
        "settings": {
            "dashboard": {"display_name": BUSINESS_NAME, "timezone": "America/Los_Angeles"}
        },
        "type": "standard",
    }
