"""Colours of widget badges: Streamlit's badge colours and the Tailwind classes that map to them."""

from __future__ import annotations

import re
from typing import Literal, get_args

BadgeColor = Literal["green", "red", "orange", "blue", "violet", "gray"]

BADGE_COLORS: tuple[BadgeColor, ...] = get_args(BadgeColor)
# Tailwind colour names (as the seed's className uses them) -> Streamlit's badge colours.
TAILWIND_COLORS: dict[str, BadgeColor] = {
    "green": "green",
    "emerald": "green",
    "lime": "green",
    "teal": "green",
    "red": "red",
    "rose": "red",
    "pink": "red",
    "yellow": "orange",
    "amber": "orange",
    "orange": "orange",
    "blue": "blue",
    "sky": "blue",
    "cyan": "blue",
    "indigo": "blue",
    "purple": "violet",
    "violet": "violet",
    "fuchsia": "violet",
    "gray": "gray",
    "grey": "gray",
    "slate": "gray",
    "zinc": "gray",
    "neutral": "gray",
    "stone": "gray",
}
_TAILWIND_CLASS = re.compile(r"(?:[a-z]+:)*(?:bg|text|border|ring)-([a-z]+)(?:-\d+)?")


def style_color(class_name: str) -> BadgeColor | None:
    """The Streamlit colour for a style's className ('bg-green-100 text-green-800' -> 'green')."""
    if class_name.strip() in BADGE_COLORS:
        return class_name.strip()  # type: ignore[return-value]
    for css_class in class_name.split():
        match = _TAILWIND_CLASS.fullmatch(css_class)
        if match and match.group(1) in TAILWIND_COLORS:
            return TAILWIND_COLORS[match.group(1)]
    return None
