"""The demo account "Demo Coffee Co.": a deterministic, Stripe-shaped dataset (API 2024-06-20).

Every object is generated from one seeded `random.Random`, with times relative to an anchor, so
the same anchor always gives the same objects. Charges scheduled after the anchor form the
"live tail" that the transport reveals as its clock passes their `created`.
"""

from __future__ import annotations

import base64
import calendar
import random
import string
import unicodedata
import uuid
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.config import STRIPE_API_VERSION

StripeObject = dict[str, Any]

SEED = 20240620
MINUTE = 60
HOUR = 3_600
DAY = 86_400
HISTORY_DAYS = 90
TAIL_DAYS = 7
CUSTOMER_COUNT = 120
BUSINESS_NAME = "Demo Coffee Co."

_BASE62 = string.digits + string.ascii_letters
# Maps every byte to a base62 character, so random bytes become id text in one call.
_BYTE_TO_BASE62 = bytes(ord(_BASE62[byte % len(_BASE62)]) for byte in range(256))


@dataclass(frozen=True)
class _Market:
    """Where a customer lives: their currency, card country, and names that fit."""

    currency: str
    weight: int
    minor_per_usd_cent: float
    price_step: int
    countries: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


_MARKETS = (
    _Market(
        currency="usd",
        weight=62,
        minor_per_usd_cent=1.0,
        price_step=25,
        countries=("US",),
        first_names=_names(
            "Ava, Liam, Olivia, Noah, Emma, Mateo, Sophia, Elijah, Mia, Lucas, Harper, Ethan, "
            "Amelia, Mason, Zoe, Caleb"
        ),
        last_names=_names(
            "Carter, Nguyen, Patel, Brooks, Rivera, Kim, Foster, Hughes, Ramirez, Bennett, "
            "Morales, Sullivan, Chen, Price, Ortiz, Reed"
        ),
    ),
    _Market(
        currency="eur",
        weight=14,
        minor_per_usd_cent=0.92,
        price_step=50,
        countries=("DE", "FR", "NL", "IE", "ES", "IT"),
        first_names=_names("Lena, Jonas, Camille, Hugo, Sofie, Daan, Aoife, Luca, Marta, Elias"),
        last_names=_names("Schneider, Dubois, de Vries, Murphy, García, Rossi, Jansen, Moreau"),
    ),
    _Market(
        currency="gbp",
        weight=11,
        minor_per_usd_cent=0.79,
        price_step=50,
        countries=("GB",),
        first_names=_names("Oliver, Isla, George, Freya, Harry, Poppy, Jack, Imogen"),
        last_names=_names("Taylor, Evans, Walsh, Clarke, Wright, Holmes, Doyle, Fletcher"),
    ),
    _Market(
        currency="jpy",
        weight=8,
        minor_per_usd_cent=1.5,
        price_step=10,
        countries=("JP",),
        first_names=_names("Haruto, Yui, Sota, Hina, Ren, Aoi, Yuto, Sakura"),
        last_names=_names("Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura"),
    ),
    _Market(
        currency="kwd",
        weight=5,
        minor_per_usd_cent=3.07,
        price_step=50,
        countries=("KW",),
        first_names=_names("Fatima, Yousef, Noura, Abdullah, Mariam, Khalid, Sara, Omar"),
        last_names=_names("Al-Mutairi, Al-Ajmi, Al-Kandari, Al-Enezi, Al-Rashidi, Al-Hajri"),
    ),
)
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
_CARD_BRANDS = (
    ("visa", 45),
    ("mastercard", 30),
    ("amex", 12),
    ("discover", 6),
    ("jcb", 4),
    ("unionpay", 3),
)
_FUNDING = (("credit", 70), ("debit", 27), ("prepaid", 3))
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
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class _Plan:
    product_name: str
    interval: str
    interval_count: int
    usd_cents: int


_PLANS = (
    _Plan("Coffee Club", "month", 1, 2400),
    _Plan("Espresso Lovers Club", "month", 1, 3600),
    _Plan("Coffee Club (annual)", "year", 1, 24000),
    _Plan("Office Beans", "week", 2, 4800),
)
_PLAN_MIX = (0,) * 22 + (1,) * 14 + (2,) * 9 + (3,) * 3
_SUBSCRIPTION_STATUSES = (
    ("active",) * 28
    + ("trialing",) * 5
    + ("past_due",) * 4
    + ("canceled",) * 6
    + ("unpaid",) * 2
    + ("incomplete",) * 2
    + ("incomplete_expired",)
)
_COUPONS = (  # id, percent_off, amount_off in US cents, duration, duration_in_months
    ("WELCOME20", 20.0, None, "repeating", 3),
    ("LOYAL10", 10.0, None, "forever", None),
    ("FIRSTBAG5", None, 500, "once", None),
)
_TRIAL = 14 * DAY
_INCOMPLETE_EXPIRY = 23 * HOUR


@dataclass(frozen=True)
class _Payer:
    """A customer and what each of their charges repeats: currency, saved card, billing details."""

    customer: StripeObject
    market: _Market
    payment_method: str
    billing_details: StripeObject
    payment_method_details: StripeObject


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
    return _Builder(int(moment.timestamp())).build()


def _newest_first(objects: list[StripeObject]) -> tuple[StripeObject, ...]:
    return tuple(sorted(objects, key=lambda obj: (obj["created"], obj["id"]), reverse=True))


def _list_object(data: list[StripeObject], url: str) -> StripeObject:
    return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}


def _advance(start: int, interval: str, count: int) -> int:
    """`start` plus `count` intervals, stepping calendar months the way Stripe bills."""
    if interval == "week":
        return start + count * 7 * DAY
    moment = datetime.fromtimestamp(start, UTC)
    months = moment.month - 1 + count * (12 if interval == "year" else 1)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _period_containing(start: int, plan: _Plan, moment: int) -> tuple[int, int]:
    """The billing period, counted in whole intervals from `start`, that contains `moment`."""

    def boundary(periods: int) -> int:
        return _advance(start, plan.interval, plan.interval_count * periods)

    periods = 0
    while boundary(periods + 1) <= moment:
        periods += 1
    return boundary(periods), boundary(periods + 1)


def _email_local_part(first: str, last: str) -> str:
    text = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return text.lower().replace(" ", "")


class _Builder:
    """Generates the account in a fixed order, so the seeded rng yields the same objects."""

    def __init__(self, anchor: int) -> None:
        self.anchor = anchor
        self.rng = random.Random(SEED)
        self.account_id = self.new_id("acct_", 16)
        self.customers: list[StripeObject] = []
        self.payers: dict[str, _Payer] = {}
        self.charges: list[StripeObject] = []
        self.refunds: list[StripeObject] = []
        self.subscriptions: list[StripeObject] = []
        self.events: list[StripeObject] = []
        self.products: dict[int, str] = {}
        self.prices: dict[tuple[int, str], StripeObject] = {}

    def new_id(self, prefix: str, length: int = 24) -> str:
        return prefix + self.rng.randbytes(length).translate(_BYTE_TO_BASE62).decode()

    def build(self) -> DemoAccount:
        self.add_customers()
        self.add_charges()
        self.add_subscriptions()
        for customer in self.customers:
            self.add_event("customer.created", {**customer, "delinquent": False})
        return DemoAccount(
            anchor=self.anchor,
            account=self.account_object(),
            customers=_newest_first(self.customers),
            charges=_newest_first(self.charges),
            refunds=_newest_first(self.refunds),
            subscriptions=_newest_first(self.subscriptions),
            events=_newest_first(self.events),
        )

    def account_object(self) -> StripeObject:
        return {
            "id": self.account_id,
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
            "created": self.anchor - 1_000 * DAY,
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

    def price_of(self, usd_cents: int, market: _Market) -> int:
        step = market.price_step
        return max(step, round(usd_cents * market.minor_per_usd_cent / step) * step)

    def add_event(
        self,
        event_type: str,
        obj: StripeObject,
        *,
        created: int | None = None,
        previous: StripeObject | None = None,
        automatic: bool = False,
    ) -> None:
        rng = self.rng
        request = (
            {"id": None, "idempotency_key": None}
            if automatic
            else {
                "id": self.new_id("req_", 14),
                "idempotency_key": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
        )
        data: StripeObject = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        self.events.append(
            {
                "id": self.new_id("evt_"),
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

    def add_customers(self) -> None:
        rng = self.rng
        emails: set[str] = set()
        for index in range(CUSTOMER_COUNT):
            # The first customers cover every market so each currency always has payments.
            if index < len(_MARKETS):
                market, old = _MARKETS[index], True
            else:
                market = rng.choices(_MARKETS, [m.weight for m in _MARKETS])[0]
                old = rng.random() < 0.6
            age = rng.randint(91 * DAY, 900 * DAY) if old else rng.randint(3 * HOUR, 90 * DAY)
            first, last = rng.choice(market.first_names), rng.choice(market.last_names)
            local = _email_local_part(first, last)
            email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
            while email in emails:
                email = f"{local}{rng.randint(2, 99)}@{email.split('@')[1]}"
            emails.add(email)
            customer_id = self.new_id("cus_", 14)
            country = rng.choice(market.countries)
            phone = None
            if rng.random() < 0.5 and market.currency in ("usd", "gbp"):
                suffix = rng.randint(0, 99)
                phone = (
                    f"+1 415-555-01{suffix:02d}"
                    if country == "US"
                    else f"+44 20 7946 0{suffix:03d}"
                )
            brand = rng.choices(*zip(*_CARD_BRANDS, strict=True))[0]
            card = {
                "brand": brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": country,
                "exp_month": rng.randint(1, 12),
                "exp_year": datetime.fromtimestamp(self.anchor, UTC).year + rng.randint(1, 5),
                "fingerprint": self.new_id("", 16),
                "funding": rng.choices(*zip(*_FUNDING, strict=True))[0],
                "last4": f"{rng.randint(0, 9999):04d}",
                "network": brand,
                "three_d_secure": None,
                "wallet": None,
            }
            address = dict.fromkeys(("city", "line1", "line2", "state"))
            address |= {"country": country, "postal_code": f"{rng.randint(10000, 99999)}"}
            name = f"{first} {last}"
            wholesale = rng.random() < 0.1
            customer = {
                "id": customer_id,
                "object": "customer",
                "address": None,
                "balance": 0,
                "created": self.anchor - age,
                "currency": market.currency,
                "default_source": None,
                "delinquent": False,
                "description": "Wholesale account" if wholesale else None,
                "discount": None,
                "email": email,
                "invoice_prefix": "".join(rng.choices("0123456789ABCDEF", k=8)),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": self.new_id("pm_"),
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": {"segment": "wholesale"} if wholesale else {},
                "name": name,
                "next_invoice_sequence": 1,
                "phone": phone,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": None,
            }
            self.customers.append(customer)
            self.payers[customer_id] = _Payer(
                customer=customer,
                market=market,
                payment_method=customer["invoice_settings"]["default_payment_method"],
                billing_details={"address": address, "email": email, "name": name, "phone": phone},
                payment_method_details={"card": card, "type": "card"},
            )
        self.customers.sort(key=lambda customer: customer["created"])

    def charge_times(self) -> list[int]:
        rng, anchor = self.rng, self.anchor
        times = [anchor - rng.randint(MINUTE, 20 * MINUTE - 1) for _ in range(3)]
        times += [anchor - rng.randint(20 * MINUTE, 2 * HOUR - 1) for _ in range(6)]
        # A power above 1 skews towards recent days: the shop is growing.
        span = HISTORY_DAYS * DAY - 2 * HOUR
        times += [anchor - 2 * HOUR - int(span * rng.random() ** 1.2) for _ in range(711)]
        moment = anchor
        while (moment := moment + rng.randint(2 * MINUTE, 8 * MINUTE)) <= anchor + TAIL_DAYS * DAY:
            times.append(moment)
        return sorted(times)

    def add_charges(self) -> None:
        rng = self.rng
        created_times = [customer["created"] for customer in self.customers]
        products, product_weights = [p[:2] for p in _PRODUCTS], [p[2] for p in _PRODUCTS]
        for created in self.charge_times():
            eligible = bisect_left(created_times, created - 10 * MINUTE)
            payer = self.payers[self.customers[rng.randrange(eligible)]["id"]]
            description, usd_cents = rng.choices(products, product_weights)[0]
            quantity = rng.choices((1, 2, 3), (80, 15, 5))[0]
            amount = self.price_of(usd_cents, payer.market) * quantity
            roll = rng.random()
            status = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "pending"
            charge = self.charge_object(created, payer, amount, description, status)
            self.add_event(f"charge.{status}", charge)
            if status == "succeeded" and created < self.anchor - 2 * HOUR:
                charge = self.settle(charge, payer.market)
            self.charges.append(charge)

    def charge_object(
        self, created: int, payer: _Payer, amount: int, description: str, status: str
    ) -> StripeObject:
        rng = self.rng
        charge_id = self.new_id("ch_")
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
        receipt = base64.urlsafe_b64encode(f"{self.account_id}/{charge_id}".encode()).decode()
        customer = payer.customer
        return {
            "id": charge_id,
            "object": "charge",
            **_CHARGE_UNUSED_FIELDS,
            "amount": amount,
            "amount_captured": 0 if failed else amount,
            "amount_refunded": 0,
            "balance_transaction": self.new_id("txn_") if status == "succeeded" else None,
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
            "payment_intent": self.new_id("pi_"),
            "payment_method": payer.payment_method,
            "payment_method_details": payment_method_details,
            "receipt_email": customer["email"],
            "receipt_url": None
            if failed
            else f"https://pay.stripe.com/receipts/payment/{receipt.rstrip('=')}?s=ap",
            "refunded": False,
            "refunds": _list_object([], f"/v1/charges/{charge_id}/refunds"),
            "status": status,
        }

    def settle(self, charge: StripeObject, market: _Market) -> StripeObject:
        """The charge as it ends up: about 10% refunded (a third of those partly), 1% disputed."""
        rng = self.rng
        roll = rng.random()
        if roll >= 0.11:
            return charge
        if roll >= 0.10:
            return {**charge, "disputed": True}
        full = roll < 0.065
        step = market.price_step
        partial = max(step, int(charge["amount"] * rng.uniform(0.1, 0.6)) // step * step)
        amount = charge["amount"] if full or partial >= charge["amount"] else partial
        latest = min(14 * DAY, self.anchor - charge["created"] - MINUTE)
        refund = {
            "id": self.new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": self.new_id("txn_"),
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
            "refunds": _list_object([refund], f"/v1/charges/{charge['id']}/refunds"),
        }
        self.refunds.append(refund)
        previous: StripeObject = {"amount_refunded": 0}
        if refunded["refunded"]:
            previous["refunded"] = False
        self.add_event("charge.refunded", refunded, created=refund["created"], previous=previous)
        return refunded

    def price_for(self, plan_index: int, market: _Market) -> StripeObject:
        """One recurring price per plan and currency, with Stripe's price and legacy plan fields."""
        key = (plan_index, market.currency)
        if key not in self.prices:
            plan = _PLANS[plan_index]
            if plan_index not in self.products:
                self.products[plan_index] = self.new_id("prod_", 14)
            unit_amount = self.price_of(plan.usd_cents, market)
            self.prices[key] = {
                "id": self.new_id("price_"),
                "unit_amount": unit_amount,
                "currency": market.currency,
                "interval": plan.interval,
                "interval_count": plan.interval_count,
                "product": self.products[plan_index],
                "created": self.anchor - (900 - plan_index) * DAY,
                "nickname": plan.product_name,
            }
        return self.prices[key]

    def subscription_start(self, status: str, plan: _Plan) -> int:
        rng, anchor = self.rng, self.anchor
        if status == "trialing":
            return anchor - rng.randint(HOUR, 13 * DAY)
        if status == "incomplete":
            return anchor - rng.randint(10 * MINUTE, 22 * HOUR)
        if status == "incomplete_expired":
            return anchor - rng.randint(2 * DAY, 60 * DAY)
        if status in ("past_due", "unpaid"):
            # The renewal that failed was recent enough that Stripe is still retrying it.
            renewed = anchor - (
                rng.randint(4 * DAY, 12 * DAY) if status == "unpaid" else rng.randint(HOUR, 3 * DAY)
            )
            periods = 1 if plan.interval == "year" else rng.randint(1, 8)
            return _advance(renewed, plan.interval, -plan.interval_count * periods)
        # Active ones are old enough to have finished a trial; canceled ones renewed at least once.
        period = _advance(0, plan.interval, plan.interval_count)
        youngest = 20 * DAY if status == "active" else int(period * 1.2)
        return anchor - rng.randint(youngest, max(youngest, 850 * DAY))

    def add_subscriptions(self) -> None:
        rng = self.rng
        plan_mix = list(_PLAN_MIX)
        rng.shuffle(plan_mix)
        candidates = list(self.customers)
        rng.shuffle(candidates)
        active_count = 0
        for status, plan_index in zip(_SUBSCRIPTION_STATUSES, plan_mix, strict=True):
            created = self.subscription_start(status, _PLANS[plan_index])
            customer = next(c for c in candidates if c["created"] < created - HOUR)
            candidates.remove(customer)
            variant = None
            if status == "active":
                variants = ("cancel_at_period_end",) * 2 + ("quantity",) * 3 + ("trial",) * 6
                variant = variants[active_count] if active_count < len(variants) else None
                active_count += 1
            self.add_subscription(customer, plan_index, status, created, variant)

    def coupon_discount(
        self, subscription_id: str, customer: StripeObject, start: int
    ) -> StripeObject:
        rng = self.rng
        market = self.payers[customer["id"]].market
        usable = [c for c in _COUPONS if c[2] is None or market.currency == "usd"]
        coupon_id, percent_off, usd_off, duration, months = rng.choice(usable)
        return {
            "id": self.new_id("di_"),
            "object": "discount",
            "checkout_session": None,
            "coupon": {
                "id": coupon_id,
                "object": "coupon",
                "amount_off": usd_off,
                "created": self.anchor - 950 * DAY,
                "currency": "usd" if usd_off is not None else None,
                "duration": duration,
                "duration_in_months": months,
                "livemode": False,
                "max_redemptions": None,
                "metadata": {},
                "name": coupon_id.title(),
                "percent_off": percent_off,
                "redeem_by": None,
                "times_redeemed": rng.randint(5, 80),
                "valid": True,
            },
            "customer": customer["id"],
            "end": _advance(start, "month", months) if months else None,
            "invoice": None,
            "invoice_item": None,
            "promotion_code": None,
            "start": start,
            "subscription": subscription_id,
            "subscription_item": None,
        }

    def add_subscription(
        self,
        customer: StripeObject,
        plan_index: int,
        status: str,
        created: int,
        variant: str | None,
    ) -> None:
        rng, anchor = self.rng, self.anchor
        plan = _PLANS[plan_index]
        price = self.price_for(plan_index, self.payers[customer["id"]].market)
        quantity = rng.choices((1, 2, 3, 4, 5), (60, 20, 10, 6, 4))[0]
        subscription_id = self.new_id("sub_")
        trial = status == "trialing" or variant == "trial"
        billing_anchor = created + _TRIAL if trial else created
        canceled_at = ended_at = cancel_at = None
        if status == "trialing":
            period = (created, created + _TRIAL)
        elif status in ("incomplete", "incomplete_expired"):
            period = (created, _advance(created, plan.interval, plan.interval_count))
            ended_at = created + _INCOMPLETE_EXPIRY if status == "incomplete_expired" else None
        elif status == "canceled":
            canceled_at = ended_at = rng.randint(created + DAY, anchor - HOUR)
            period = _period_containing(billing_anchor, plan, canceled_at)
        else:
            period = _period_containing(billing_anchor, plan, anchor)
        if variant == "cancel_at_period_end":
            canceled_at, cancel_at = rng.randint(period[0], anchor), period[1]
        discount = None
        if rng.random() < 0.2:
            discount = self.coupon_discount(subscription_id, customer, created)
        plan_fields = {
            "amount": price["unit_amount"],
            "currency": price["currency"],
            "interval": price["interval"],
            "interval_count": price["interval_count"],
            "product": price["product"],
        }
        legacy_plan = {
            "id": price["id"],
            "object": "plan",
            "active": True,
            "amount_decimal": str(price["unit_amount"]),
            "billing_scheme": "per_unit",
            "created": price["created"],
            "livemode": False,
            "nickname": price["nickname"],
            "usage_type": "licensed",
            **plan_fields,
        }
        item = {
            "id": self.new_id("si_", 14),
            "object": "subscription_item",
            "created": created,
            "metadata": {},
            "plan": legacy_plan,
            "price": {
                "id": price["id"],
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": price["created"],
                "currency": price["currency"],
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": price["nickname"],
                "product": price["product"],
                "recurring": {
                    "aggregate_usage": None,
                    "interval": price["interval"],
                    "interval_count": price["interval_count"],
                    "trial_period_days": None,
                    "usage_type": "licensed",
                },
                "tax_behavior": "unspecified",
                "type": "recurring",
                "unit_amount": price["unit_amount"],
                "unit_amount_decimal": str(price["unit_amount"]),
            },
            "quantity": quantity,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "billing_cycle_anchor": billing_anchor,
            "cancel_at": cancel_at,
            "cancel_at_period_end": cancel_at is not None,
            "canceled_at": canceled_at,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": price["currency"],
            "current_period_end": period[1],
            "current_period_start": period[0],
            "customer": customer["id"],
            "days_until_due": None,
            "default_payment_method": self.payers[customer["id"]].payment_method,
            "description": None,
            "discount": discount,
            "ended_at": ended_at,
            "items": _list_object([item], f"/v1/subscription_items?subscription={subscription_id}"),
            "latest_invoice": self.new_id("in_"),
            "livemode": False,
            "metadata": {},
            "pending_update": None,
            "plan": legacy_plan,
            "quantity": quantity,
            "schedule": None,
            "start_date": created,
            "status": status,
            "test_clock": None,
            "trial_end": created + _TRIAL if trial else None,
            "trial_start": created if trial else None,
        }
        self.subscriptions.append(subscription)
        self.add_subscription_events(subscription, customer, variant)

    def add_subscription_events(
        self, subscription: StripeObject, customer: StripeObject, variant: str | None
    ) -> None:
        rng, anchor = self.rng, self.anchor
        status, created = subscription["status"], subscription["created"]
        first_status = {"incomplete_expired": "incomplete", "canceled": "active"}.get(
            status, status
        )
        if subscription["trial_start"] is not None:
            first_status = "trialing"
        first = {
            **subscription,
            "status": "active" if first_status in ("past_due", "unpaid") else first_status,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
        }
        quantity = subscription["quantity"]
        if variant == "quantity":
            first["quantity"] = quantity + 1
        self.add_event("customer.subscription.created", first)

        def updated(at: int, previous: StripeObject, **state: Any) -> None:
            snapshot = {**subscription, **state}
            self.add_event(
                "customer.subscription.updated",
                snapshot,
                created=at,
                previous=previous,
                automatic=True,
            )

        if variant == "trial":
            updated(subscription["trial_end"], {"status": "trialing"})
        elif variant == "quantity":
            updated(rng.randint(created + HOUR, anchor), {"quantity": quantity + 1})
        elif variant == "cancel_at_period_end":
            updated(
                subscription["canceled_at"],
                {"cancel_at": None, "cancel_at_period_end": False, "canceled_at": None},
            )
        if status in ("past_due", "unpaid"):
            customer["delinquent"] = True
            failed_at = min(subscription["current_period_start"] + HOUR, anchor)
            invoice = self.invoice_object(subscription, customer, failed_at)
            self.add_event("invoice.payment_failed", invoice, automatic=True)
            updated(failed_at, {"status": "active"}, status="past_due")
            if status == "unpaid":
                unpaid_at = min(subscription["current_period_start"] + 3 * DAY, anchor)
                updated(unpaid_at, {"status": "past_due"})
        if subscription["ended_at"] is not None:
            self.add_event(
                "customer.subscription.deleted",
                subscription,
                created=subscription["ended_at"],
                automatic=status == "incomplete_expired",
            )

    def invoice_object(
        self, subscription: StripeObject, customer: StripeObject, created: int
    ) -> StripeObject:
        """The renewal invoice whose payment failed, with any discount still in force."""
        subtotal = subscription["plan"]["amount"] * subscription["quantity"]
        discount = subscription["discount"]
        discounted = 0
        if discount is not None and (discount["end"] is None or discount["end"] > created):
            coupon = discount["coupon"]
            if coupon["percent_off"] is not None:
                discounted = round(subtotal * coupon["percent_off"] / 100)
            elif coupon["duration"] != "once":
                discounted = min(subtotal, coupon["amount_off"])
        total = subtotal - discounted
        token = self.new_id("", 40)
        return {
            "id": subscription["latest_invoice"],
            "object": "invoice",
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": "subscription_cycle",
            "charge": None,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": subscription["currency"],
            "customer": customer["id"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "hosted_invoice_url": f"https://invoice.stripe.com/i/{self.account_id}/test_{token}",
            "livemode": False,
            "next_payment_attempt": created + 3 * DAY,
            "paid": False,
            "period_end": subscription["current_period_end"],
            "period_start": subscription["current_period_start"],
            "status": "open",
            "subscription": subscription["id"],
            "subtotal": subtotal,
            "total": total,
            "total_discount_amounts": [{"amount": discounted, "discount": discount["id"]}]
            if discounted
            else [],
        }
