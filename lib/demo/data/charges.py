"""The demo shop's card charges: 90 days of history, a week of live tail, refunds and disputes."""

from __future__ import annotations

import base64
from bisect import bisect_left

from lib.demo.data.customers import Payer
from lib.demo.data.events import record_event
from lib.demo.data.markets import Market, local_price
from lib.demo.data.seeded import (
    DAY,
    HOUR,
    MINUTE,
    Generation,
    StripeObject,
    list_object,
)

HISTORY_DAYS = 90
TAIL_DAYS = 7

_PRODUCTS = (  # description, price in US cents, weight
    ("Latte and pastry (in store)", 875, 20),
    ("House blend, 500 g", 1450, 18),
    ("Espresso beans, 1 kg", 2800, 14),
    ("Cold brew concentrate, 1 l", 1200, 12),
    ("Single-origin sampler", 3900, 9),
    ("Ceramic mug", 1800, 7),
    ("Gift card", 5000, 7),
    ("Pour-over starter kit", 6400, 5),
    ("Burr grinder", 14900, 3),
    ("Wholesale order: 10 kg beans", 21000, 5),
)
_FAILURES = (  # failure_code, outcome.reason, failure_message, weight
    ("card_declined", "generic_decline", "Your card was declined.", 40),
    ("card_declined", "insufficient_funds", "Your card has insufficient funds.", 25),
    ("expired_card", "expired_card", "Your card has expired.", 12),
    ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", 13),
    (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        10,
    ),
)
# Charge fields this shop never sets (no Connect, invoices, reviews or shipping).
_CHARGE_UNUSED_FIELDS: dict[str, None] = dict.fromkeys(
    (
        "application",
        "application_fee",
        "application_fee_amount",
        "failure_balance_transaction",
        "invoice",
        "on_behalf_of",
        "receipt_number",
        "review",
        "shipping",
        "source_transfer",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_data",
        "transfer_group",
    )
)
_REFUND_REASONS = ("requested_by_customer", "requested_by_customer", "duplicate", None)


def generate_charges(
    generation: Generation, payers: list[Payer]
) -> tuple[list[StripeObject], list[StripeObject]]:
    """Charges by `payers` (oldest first) and the refunds of them, recording an event for each.

    About 720 charges fall in the 90 days before the anchor (at least 3 in its last 20 minutes)
    and one every two to eight minutes in the 7 days after it.
    """
    rng = generation.rng
    created_times = [payer.customer["created"] for payer in payers]
    products, product_weights = [p[:2] for p in _PRODUCTS], [p[2] for p in _PRODUCTS]
    charges: list[StripeObject] = []
    refunds: list[StripeObject] = []
    for created in _charge_times(generation):
        eligible = bisect_left(created_times, created - 10 * MINUTE)
        payer = payers[rng.randrange(eligible)]
        description, usd_cents = rng.choices(products, product_weights)[0]
        quantity = rng.choices((1, 2, 3), (80, 15, 5))[0]
        amount = local_price(usd_cents, payer.market) * quantity
        roll = rng.random()
        status = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "pending"
        charge = _charge_object(generation, created, payer, amount, description, status)
        record_event(generation, f"charge.{status}", charge)
        if status == "succeeded" and created < generation.anchor - 2 * HOUR:
            charge = _settle(generation, charge, payer.market, refunds)
        charges.append(charge)
    return charges, refunds


def _charge_times(generation: Generation) -> list[int]:
    rng, anchor = generation.rng, generation.anchor
    times = [anchor - rng.randint(MINUTE, 20 * MINUTE - 1) for _ in range(3)]
    times += [anchor - rng.randint(20 * MINUTE, 2 * HOUR - 1) for _ in range(6)]
    # A power above 1 skews towards recent days: the shop is growing.
    span = HISTORY_DAYS * DAY - 2 * HOUR
    times += [anchor - 2 * HOUR - int(span * rng.random() ** 1.2) for _ in range(711)]
    moment = anchor
    while (moment := moment + rng.randint(2 * MINUTE, 8 * MINUTE)) <= anchor + TAIL_DAYS * DAY:
        times.append(moment)
    return sorted(times)


def _charge_object(
    generation: Generation, created: int, payer: Payer, amount: int, description: str, status: str
) -> StripeObject:
    rng = generation.rng
    charge_id = generation.new_id("ch_")
    failed = status == "failed"
    failure_code = failure_message = None
    payment_method_details = payer.payment_method_details
    if failed:
        failure_code, reason, failure_message, _ = rng.choices(
            _FAILURES, [f[3] for f in _FAILURES]
        )[0]
        generic = reason == "generic_decline"
        outcome: StripeObject | None = {
            "network_status": "declined_by_network",
            "reason": reason,
            "risk_level": "normal",
            "risk_score": rng.randint(5, 70),
            "seller_message": "The bank did not return any further details with this decline."
            if generic
            else f"The bank returned the decline code `{reason}`.",
            "type": "issuer_declined",
        }
        if failure_code == "incorrect_cvc":
            card = payment_method_details["card"]
            checks = {**card["checks"], "cvc_check": "fail"}
            payment_method_details = {"card": {**card, "checks": checks}, "type": "card"}
    elif status == "succeeded":
        outcome = {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": rng.randint(0, 60),
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    else:
        outcome = None
    receipt = base64.urlsafe_b64encode(f"{generation.account_id}/{charge_id}".encode()).decode()
    customer = payer.customer
    return {
        "id": charge_id,
        "object": "charge",
        **_CHARGE_UNUSED_FIELDS,
        "amount": amount,
        "amount_captured": 0 if failed else amount,
        "amount_refunded": 0,
        "balance_transaction": generation.new_id("txn_") if status == "succeeded" else None,
        "billing_details": payer.billing_details,
        "calculated_statement_descriptor": "DEMO COFFEE CO",
        "captured": not failed,
        "created": created,
        "currency": payer.market.currency,
        "customer": customer["id"],
        "description": description,
        "disputed": False,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": False,
        "metadata": {"order_id": f"DC-{rng.randint(10000, 99999)}"},
        "outcome": outcome,
        "paid": status == "succeeded",
        "payment_intent": generation.new_id("pi_"),
        "payment_method": payer.payment_method,
        "payment_method_details": payment_method_details,
        "receipt_email": customer["email"],
        "receipt_url": None
        if failed
        else f"https://pay.stripe.com/receipts/payment/{receipt.rstrip('=')}?s=ap",
        "refunded": False,
        "refunds": list_object([], f"/v1/charges/{charge_id}/refunds"),
        "status": status,
    }


def _settle(
    generation: Generation, charge: StripeObject, market: Market, refunds: list[StripeObject]
) -> StripeObject:
    """The charge as it ends up: about 10% refunded (a third of those partly), 1% disputed."""
    rng = generation.rng
    roll = rng.random()
    if roll >= 0.11:
        return charge
    if roll >= 0.10:
        return {**charge, "disputed": True}
    full = roll < 0.065
    step = market.price_step
    partial = max(step, int(charge["amount"] * rng.uniform(0.1, 0.6)) // step * step)
    amount = charge["amount"] if full or partial >= charge["amount"] else partial
    latest = min(14 * DAY, generation.anchor - charge["created"] - MINUTE)
    refund = {
        "id": generation.new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": generation.new_id("txn_"),
        "charge": charge["id"],
        "created": charge["created"] + rng.randint(10 * MINUTE, max(10 * MINUTE, latest)),
        "currency": charge["currency"],
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "reason": rng.choice(_REFUND_REASONS),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    refunded = {
        **charge,
        "amount_refunded": amount,
        "refunded": amount == charge["amount"],
        "refunds": list_object([refund], f"/v1/charges/{charge['id']}/refunds"),
    }
    refunds.append(refund)
    previous: StripeObject = {"amount_refunded": 0}
    if refunded["refunded"]:
        previous["refunded"] = False
    record_event(
        generation, "charge.refunded", refunded, created=refund["created"], previous=previous
    )
    return refunded
