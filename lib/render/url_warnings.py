"""Saying which values of a link were ignored, without letting those values format the page."""

from __future__ import annotations

import streamlit as st

from lib.finance import IgnoredParam
from lib.render.safe_markdown import escape_markdown

MAX_WARNINGS = 10
"""Ignored values named one by one; a link with more gets one summary line for the rest."""


def warn_ignored_link_values(ignored: list[IgnoredParam]) -> None:
    """One warning per ignored value (at most MAX_WARNINGS), each value escaped and cut short
    so a link cannot turn it into a link, an image or a wall of text."""
    for item in ignored[:MAX_WARNINGS]:
        st.warning(
            "Ignored a value in the link that is not a valid filter: "
            + escape_markdown(item.shown())
        )
    if len(ignored) > MAX_WARNINGS:
        st.warning(f"Ignored {len(ignored) - MAX_WARNINGS:,} more values in the link.")
