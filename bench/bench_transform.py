"""Benchmark: the seed widget's transform plus formatting on 10,000 and 100,000 charges.

Runs the seed definition's transform WITH its `status == succeeded` filter (about 85% of the
synthetic charges pass), its `created desc` sort, then `format_rows` for the seed's five
display fields (money in each row's currency, relative time, badge text...), and the whole
`build_widget_view` (transform, formatting, badge colours, highlight and each row's action
payload). Prints the best of three runs per size.

    python bench/bench_transform.py
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.providers.types import ApiResponse
from lib.widgets import apply_transform, build_widget_view, format_rows, load_widget_file

CURRENCIES = ("usd", "usd", "usd", "eur", "gbp", "jpy", "kwd", "isk")
STATUSES = ("succeeded",) * 17 + ("failed", "failed", "pending")
BRANDS = ("visa", "mastercard", "amex")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def demo_charges(count: int, seed: int = 7) -> dict[str, Any]:
    """A Stripe-shaped `/charges` list response with `count` synthetic charges."""
    rng = random.Random(seed)
    now = int(NOW.timestamp())
    charges = []
    for index in range(count):
        status = rng.choice(STATUSES)
        expanded = rng.random() < 0.5
        customer_id = f"cus_{rng.randrange(10**6):06d}"
        charges.append(
            {
                "id": f"ch_{index:024d}",
                "object": "charge",
                "amount": rng.randrange(50, 500_000),
                "amount_captured": 0,
                "amount_refunded": 0,
                "currency": rng.choice(CURRENCIES),
                "customer": {"id": customer_id, "email": f"{customer_id}@example.com"}
                if expanded
                else customer_id,
                "status": status,
                "paid": status == "succeeded",
                "captured": status == "succeeded",
                "created": now - rng.randrange(0, 90 * 86400),
                "description": rng.choice((None, "Subscription update", "Invoice 1042")),
                "receipt_url": f"https://pay.stripe.com/receipts/{index}",
                "livemode": False,
                "metadata": {},
                "failure_code": "card_declined" if status == "failed" else None,
                "failure_message": "Your card was declined." if status == "failed" else None,
                "payment_method_details": {
                    "type": "card",
                    "card": {
                        "brand": rng.choice(BRANDS),
                        "last4": f"{rng.randrange(10**4):04d}",
                        "exp_month": rng.randrange(1, 13),
                        "exp_year": rng.randrange(2027, 2032),
                        "country": "US",
                    },
                },
                "billing_details": {"email": None, "name": None, "phone": None},
                "outcome": {"network_status": "approved_by_network", "type": "authorized"},
            }
        )
    return {"object": "list", "data": charges, "has_more": False, "url": "/v1/charges"}


def best_of(runs: int, action: Any) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    definition = load_widget_file(
        Path(__file__).resolve().parent.parent / "widgets" / "stripe-payments.json"
    )
    for size in (10_000, 100_000):
        response = demo_charges(size)
        frame = apply_transform(response, definition.transform, NOW)
        transform_seconds = best_of(
            3, partial(apply_transform, response, definition.transform, NOW)
        )
        format_seconds = best_of(3, partial(format_rows, frame, definition.display, NOW))
        answer = ApiResponse(success=True, data=response)
        view_seconds = best_of(3, partial(build_widget_view, definition, answer, NOW))
        total = transform_seconds + format_seconds
        print(
            f"{size:>7,} charges -> {len(frame):>6,} rows: transform {transform_seconds:.3f}s, "
            f"format {format_seconds:.3f}s, total {total:.3f}s = {size / total:,.0f} charges/s; "
            f"whole view {view_seconds:.3f}s"
        )


if __name__ == "__main__":
    main()
