"""How wide a table column is drawn, from its format and the text it shows: money and numbers
right-aligned and as wide as their longest figure, dates and badges as wide as they read, Stripe
ids short (`ch_Y4lf…zlbV`, the whole id stays the cell's value), free text capped so that a few
long descriptions cannot push other columns out. When the columns need more room than a table
has, the free-text ones give it up (`fitted_widths`)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from lib.widgets.schema import FieldSpec

Align = Literal["left", "right"]
# Streamlit's grid writes 14 px Source Sans: about 6.6 px a character (measured in Chromium on
# emails, descriptions and amounts), 8 px padding each side.
CHAR_PX = 6.6
CELL_PADDING_PX = 18
HEADER_EXTRA_PX = 14
"""Room beside a header's label for the sort arrow."""
MIN_PX = 56
MAX_PX = {
    "money": 160,
    "number": 110,
    "date": 200,
    "badge": 140,
    "id": 110,
    "link": 200,
    "text": 240,
}
STRIPE_ID = re.compile(r"^[a-z]{1,10}_[A-Za-z0-9]{8,}$")
ColumnKind = Literal["text", "money", "badge", "link"]
SHORT_ID_ENDS = 4
"""Characters kept on each side of a shortened id's ellipsis, after its prefix."""
TABLE_WIDTH_PX = 940
"""The room for a page-wide table's columns in a 1440 px window beside the sidebar; a wider
window stretches the columns (tables are drawn with width "stretch")."""
SELECTION_COLUMN_PX = 34
"""The tick box column of a table whose rows can be selected."""
TEXT_FLOOR_PX = 110
"""Free text is not narrowed below this when the columns share out a table's width."""


@dataclass(frozen=True)
class ColumnWidth:
    """A column's width in pixels, which side its values line up on, and whether it holds
    Stripe ids (which a table shows short)."""

    pixels: int
    align: Align
    ids: bool = False
    flexible: bool = False
    """Free text, which can be drawn narrower (cut at the column's edge) when room is short."""


def column_width(spec: FieldSpec, kind: ColumnKind, texts: pd.Series) -> ColumnWidth:
    """The width of the column of field `spec` (of cell kind `kind`) showing `texts`: its
    header and its longest text, within the limit of what it holds (`MAX_PX`)."""
    role = _role(spec, kind, texts)
    if role == "id":
        texts = texts.map(short_id)
    longest = int(texts.str.len().max()) if len(texts) else 0
    content = longest * CHAR_PX + CELL_PADDING_PX
    header = len(spec.label) * CHAR_PX + CELL_PADDING_PX + HEADER_EXTRA_PX
    pixels = round(min(max(content, header, MIN_PX), MAX_PX[role]))
    align: Align = "right" if role in ("money", "number") else "left"
    return ColumnWidth(pixels, align, ids=role == "id", flexible=role in ("text", "link"))


def fitted_widths(widths: Sequence[ColumnWidth], room: int) -> list[int]:
    """Each column's pixels so that together they fit `room` where they can: when they need
    more, the free-text columns give up the excess in proportion to what they hold above
    TEXT_FLOOR_PX; money, numbers, dates, badges and ids keep their width."""
    pixels = [width.pixels for width in widths]
    excess = sum(pixels) - room
    slack = [
        max(0, px - TEXT_FLOOR_PX) if width.flexible else 0
        for px, width in zip(pixels, widths, strict=True)
    ]
    if excess <= 0 or not any(slack):
        return pixels
    share = min(1.0, excess / sum(slack))
    return [px - math.ceil(give * share) for px, give in zip(pixels, slack, strict=True)]


def _role(spec: FieldSpec, kind: ColumnKind, texts: pd.Series) -> str:
    if kind in ("money", "badge", "link"):
        return kind
    if spec.format in ("number", "percent") or (spec.type == "number" and spec.format is None):
        return "number"
    if spec.type == "date" or spec.format in ("relative-time", "short-date", "datetime"):
        return "date"
    filled = texts[texts != ""]
    if len(filled) and filled.str.fullmatch(STRIPE_ID).all():
        return "id"
    return "text"


def is_stripe_id(text: str) -> bool:
    """True for text shaped like a Stripe object id (`cus_GQf6kK11e0kbQX`)."""
    return STRIPE_ID.fullmatch(text) is not None


def short_id(text: str) -> str:
    """A Stripe id as a table shows it: `ch_Y4lfOFKeV1JQ7wBxJo9GzlbV` -> `ch_Y4lf…zlbV`; a short
    id, or text that is no id, unchanged."""
    if not is_stripe_id(text):
        return text
    prefix, _, rest = text.partition("_")
    if len(rest) <= 2 * SHORT_ID_ENDS + 1:
        return text
    return f"{prefix}_{rest[:SHORT_ID_ENDS]}…{rest[-SHORT_ID_ENDS:]}"
