"""The demo shop's customers, each with the saved card and billing details their charges reuse."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.demo.data.markets import MARKETS, Market
from lib.demo.data.seeded import DAY, HOUR, Generation, StripeObject

CUSTOMER_COUNT = 120

_CARD_BRANDS = (
    ("visa", 45),
    ("mastercard", 30),
    ("amex", 12),
    ("discover", 6),
    ("jcb", 4),
    ("unionpay", 3),
)
_FUNDING = (("credit", 70), ("debit", 27), ("prepaid", 3))
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Payer:
    """A customer and what each of their charges repeats: currency, saved card, billing details."""

    customer: StripeObject
    market: Market
    payment_method: str
    billing_details: StripeObject
    payment_method_details: StripeObject


def generate_customers(generation: Generation) -> list[Payer]:
    """`CUSTOMER_COUNT` customers, each as the payer their charges draw on, oldest first."""
    rng, anchor = generation.rng, generation.anchor
    payers: list[Payer] = []
    emails: set[str] = set()
    for index in range(CUSTOMER_COUNT):
        # The first customers cover every market so each currency always has payments.
        if index < len(MARKETS):
            market, old = MARKETS[index], True
        else:
            market = rng.choices(MARKETS, [m.weight for m in MARKETS])[0]
            old = rng.random() < 0.6
        age = rng.randint(91 * DAY, 900 * DAY) if old else rng.randint(3 * HOUR, 90 * DAY)
        first, last = rng.choice(market.first_names), rng.choice(market.last_names)
        local = _email_local_part(first, last)
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
        while email in emails:
            email = f"{local}{rng.randint(2, 99)}@{email.split('@')[1]}"
        emails.add(email)
        customer_id = generation.new_id("cus_", 14)
        country = rng.choice(market.countries)
        phone = None
        if rng.random() < 0.5 and market.currency in ("usd", "gbp"):
            suffix = rng.randint(0, 99)
            phone = (
                f"+1 415-555-01{suffix:02d}" if country == "US" else f"+44 20 7946 0{suffix:03d}"
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
            "exp_year": datetime.fromtimestamp(anchor, UTC).year + rng.randint(1, 5),
            "fingerprint": generation.new_id("", 16),
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
            "created": anchor - age,
            "currency": market.currency,
            "default_source": None,
            "delinquent": False,
            "description": "Wholesale account" if wholesale else None,
            "discount": None,
            "email": email,
            "invoice_prefix": "".join(rng.choices("0123456789ABCDEF", k=8)),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": generation.new_id("pm_"),
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
        payers.append(
            Payer(
                customer=customer,
                market=market,
                payment_method=customer["invoice_settings"]["default_payment_method"],
                billing_details={"address": address, "email": email, "name": name, "phone": phone},
                payment_method_details={"card": card, "type": "card"},
            )
        )
    payers.sort(key=lambda payer: payer.customer["created"])
    return payers


def _email_local_part(first: str, last: str) -> str:
    text = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return text.lower().replace(" ", "")
