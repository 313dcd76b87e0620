"""The demo account "Demo Coffee Co.": a deterministic, Stripe-shaped dataset (API 2024-06-20).

Every object is generated from one seeded `random.Random`, with times relative to an anchor, so
the same anchor always gives the same objects. Charges scheduled after the anchor form the
"live tail" that the transport reveals as its clock passes their `created`.
"""

from lib.demo.data.account import BUSINESS_NAME, DemoAccount, build_demo_account
from lib.demo.data.charges import HISTORY_DAYS, TAIL_DAYS
from lib.demo.data.customers import CUSTOMER_COUNT
from lib.demo.data.seeded import DAY, HOUR, MINUTE, SEED, StripeObject

__all__ = [
    "BUSINESS_NAME",
    "CUSTOMER_COUNT",
    "DAY",
    "HISTORY_DAYS",
    "HOUR",
    "MINUTE",
    "SEED",
    "TAIL_DAYS",
    "DemoAccount",
    "StripeObject",
    "build_demo_account",
]
