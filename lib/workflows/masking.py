"""Phone numbers and e-mail addresses partly masked, for pages and published events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_EMAIL = re.compile(r"([^@\s]+)@([^@\s]+)")
_PHONE = re.compile(r"\+\d[\d ().-]{5,}\d")


def mask_phone(phone: str) -> str:
    """'+15550100123' -> '+1•••••••123': the country prefix and last three digits stay."""
    digits = [char for char in phone if char.isdigit()]
    if len(digits) < 6:
        return "•" * len(digits)
    plus = "+" if phone.strip().startswith("+") else ""
    return plus + digits[0] + "•" * (len(digits) - 4) + "".join(digits[-3:])


def mask_email(email: str) -> str:
    """'jenny.rosen@example.com' -> 'j•••@example.com'."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def mask_text(text: str) -> str:
    """`text` with every e-mail address and phone number in it masked."""
    masked = _EMAIL.sub(lambda match: mask_email(match.group(0)), text)
    return _PHONE.sub(lambda match: mask_phone(match.group(0)), masked)


_PHONE_KEYS = frozenset({"to", "customer_phone"})


def mask_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `values` with the text of each value masked (a phone field wholly)."""
    return {key: _masked(key, value) for key, value in values.items()}


def _masked(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return mask_phone(value) if key.lower() in _PHONE_KEYS else mask_text(value)
