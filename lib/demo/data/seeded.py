"""What every part of the demo dataset shares: time units, the seeded rng and Stripe-style ids."""

from __future__ import annotations

import random
import string
from typing import Any

StripeObject = dict[str, Any]

SEED = 20240620
MINUTE = 60
HOUR = 3_600
DAY = 86_400

_BASE62 = string.digits + string.ascii_letters
# Maps every byte to a base62 character, so random bytes become id text in one call.
_BYTE_TO_BASE62 = bytes(ord(_BASE62[byte % len(_BASE62)]) for byte in range(256))


class Generation:
    """One build in progress: the anchor, the seeded rng and the events recorded so far.

    Every part draws from the one rng in a fixed order, so the same anchor gives the same objects.
    """

    def __init__(self, anchor: int) -> None:
        self.anchor = anchor
        self.rng = random.Random(SEED)
        self.account_id = self.new_id("acct_", 16)
        self.events: list[StripeObject] = []

    def new_id(self, prefix: str, length: int = 24) -> str:
        """`prefix` followed by `length` random base62 characters, like Stripe's object ids."""
        return prefix + self.rng.randbytes(length).translate(_BYTE_TO_BASE62).decode()


def newest_first(objects: list[StripeObject]) -> tuple[StripeObject, ...]:
    """The objects ordered as Stripe lists them: created, then id, descending."""
    return tuple(sorted(objects, key=lambda obj: (obj["created"], obj["id"]), reverse=True))


def list_object(data: list[StripeObject], url: str) -> StripeObject:
    """A Stripe list object holding all of `data`, as embedded in a parent object."""
    return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}
