"""Streamlit views of a transformed widget frame: list, table, card and stat."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pandas as pd
import streamlit as st

from lib.money import api_exponent, format_money
from lib.render.safe_markdown import badge_markdown, escape_markdown, http_url, link_markdown
from lib.widgets.formatting import badge_colors, compute_stat, format_rows, stat_left_out_note
from lib.widgets.schema import DisplaySpec, FieldSpec
from lib.widgets.table import is_date, table_values

# Streamlit badge colour -> (background, text), close to the seed's Tailwind 100/800 pairs.
BADGE_CSS = {
    "green": ("#dcfce7", "#166534"),
    "red": ("#fee2e2", "#991b1b"),
    "orange": ("#fef3c7", "#92400e"),
    "blue": ("#dbeafe", "#1e40af"),
    "violet": ("#ede9fe", "#5b21b6"),
    "gray": ("#f3f4f6", "#1f2937"),
}
HIGHLIGHT_CSS = "background-color: #fff7cc"
FIXED_HEIGHT_PX = 420


def row_markdown(
    display: DisplaySpec, text: pd.Series, colors: dict[str, str], raw: pd.Series
) -> str:
    """One list item: the first money field in bold, then the other fields separated by dots.

    `text` holds the display text of each field and `raw` the row's values (a link's URL).
    """
    parts: list[str] = []
    for spec in display.fields:
        value = str(text[spec.key])
        if spec.type == "badge":
            parts.append(badge_markdown(value, colors[spec.key]))
        elif not value:
            continue
        elif spec.format == "currency":
            parts.insert(0, f"**{escape_markdown(value)}**")
        elif spec.type == "link":
            parts.append(field_link_markdown(value, raw.get(spec.key)))
        else:
            parts.append(escape_markdown(value))
    return " · ".join(parts)


def field_link_markdown(text: str, url: object) -> str:
    """A link field: its text (linkText, else the URL) pointing at the field's http(s) URL; any
    other value is shown as plain text, never as a link."""
    if http_url(url) is None:
        return escape_markdown("" if url is None else url)
    return link_markdown(text, url)


def formatted(
    frame: pd.DataFrame, display: DisplaySpec, now: datetime, tz: str
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    text = format_rows(frame, display, now, tz)
    colors = {
        spec.key: badge_colors(frame, spec) for spec in display.fields if spec.type == "badge"
    }
    return text, colors


def render_list(
    frame: pd.DataFrame,
    display: DisplaySpec,
    now: datetime,
    tz: str,
    highlighted: pd.Series,
    select_key: str | None,
) -> int | None:
    """Rows as compact lines; returns the position of the row whose Select button was pressed."""
    text, colors = formatted(frame, display, now, tz)
    clicked: int | None = None
    box = st.container(height=container_height(display), border=False)
    with box:
        for position, (index, row) in enumerate(text.iterrows()):
            row_colors = {key: colors[key][index] for key in colors}
            line = row_markdown(display, row, row_colors, frame.iloc[position])
            marker = ":material/arrow_right: " if bool(highlighted.iloc[position]) else ""
            if select_key is None:
                st.markdown(marker + line)
                continue
            left, right = st.columns([6, 1], vertical_alignment="center")
            left.markdown(marker + line)
            if right.button("View", key=f"{select_key}-{position}", type="tertiary"):
                clicked = position
    return clicked


def container_height(display: DisplaySpec) -> int | Literal["content"]:
    """Pixels for `layout.height`: an explicit number, a scrolling box for "fixed", else content."""
    height = display.layout.height
    if isinstance(height, int):
        return height
    return FIXED_HEIGHT_PX if height == "fixed" else "content"


def _column_config(spec: FieldSpec) -> object:
    if is_date(spec):
        formats = {"relative-time": "distance", "short-date": "MMM D, YYYY"}
        return st.column_config.DatetimeColumn(
            spec.label, format=formats.get(spec.format or "", "YYYY-MM-DD HH:mm z")
        )
    if spec.type == "link":
        return st.column_config.LinkColumn(spec.label, display_text=spec.link_text)
    if spec.format == "percent":
        return st.column_config.NumberColumn(spec.label, format="percent")
    if spec.format == "number" or (spec.type == "number" and spec.format is None):
        return st.column_config.NumberColumn(spec.label, format="localized")
    return st.column_config.Column(spec.label)


def table_styler(
    frame: pd.DataFrame, display: DisplaySpec, highlighted: pd.Series
) -> pd.io.formats.style.Styler:
    """A Styler whose money cells read in each row's currency while staying numeric."""
    values, money_columns = table_values(frame.reset_index(drop=True), display)
    for spec in display.fields:
        if spec.type == "link":
            # A link column opens whatever it holds: only http(s) URLs may stay.
            values[spec.key] = values[spec.key].map(http_url).astype("object")
    styler = values.style
    for column in money_columns:
        for currency in column.currencies.unique():
            rows = column.currencies.index[column.currencies == currency]
            scale = 10 ** api_exponent(currency) if currency else 1
            styler = styler.format(
                lambda major, code=currency, scale=scale: (
                    "" if pd.isna(major) else format_money(round(major * scale), code)
                ),
                subset=pd.IndexSlice[rows, [column.key]],
            )
    for spec in display.fields:
        if spec.type == "badge":
            colors = badge_colors(frame, spec).reset_index(drop=True)
            css = [f"background-color: {BADGE_CSS[c][0]}; color: {BADGE_CSS[c][1]}" for c in colors]
            styler = styler.apply(lambda _col, css=css: css, subset=[spec.key])
        elif spec.type == "icon" and spec.icons:
            styler = styler.format(
                lambda v, icons=spec.icons: icons.get(str(v), v), subset=[spec.key]
            )
    if bool(highlighted.any()):
        marks = highlighted.reset_index(drop=True).tolist()
        styler = styler.apply(
            lambda row: [HIGHLIGHT_CSS if marks[row.name] else ""] * len(row), axis=1
        )
    return styler


def render_table(
    frame: pd.DataFrame, display: DisplaySpec, highlighted: pd.Series, select_key: str | None
) -> int | None:
    """A sortable table; returns the selected row position when the widget is selectable."""
    styler = table_styler(frame, display, highlighted)
    config = {spec.key: _column_config(spec) for spec in display.fields}
    height = container_height(display)
    options = {
        "column_config": config,
        "hide_index": True,
        "height": height if isinstance(height, int) else "auto",
        "width": "stretch",
    }
    if select_key is None:
        st.dataframe(styler, **options)
        return None
    event = st.dataframe(
        styler, key=select_key, on_select="rerun", selection_mode="single-row", **options
    )
    rows = event.selection.rows if event is not None else []
    return rows[0] if rows else None


def render_card(
    frame: pd.DataFrame, display: DisplaySpec, now: datetime, tz: str, summary_keys: list[str]
) -> None:
    """The first row as a card of label/value pairs."""
    text, colors = formatted(frame.head(1), display, now, tz)
    row = text.iloc[0]
    for spec in display.fields:
        if summary_keys and spec.key not in summary_keys:
            continue
        value = str(row[spec.key])
        if spec.type == "badge":
            shown = badge_markdown(value, colors[spec.key].iloc[0])
        elif spec.type == "link" and value:
            shown = field_link_markdown(value, frame.iloc[0].get(spec.key))
        else:
            shown = escape_markdown(value) if value else "—"
        st.markdown(f"**{escape_markdown(spec.label)}**: {shown}")


def render_stat(frame: pd.DataFrame, display: DisplaySpec) -> None:
    """One metric per group (per currency for money): never a total across currencies."""
    figures = compute_stat(frame, display)
    note = stat_left_out_note(frame, display)
    if note:
        st.caption(note)
    if not figures:
        return
    grouped = figures[0].group is not None
    if grouped:
        st.caption(escape_markdown(figures[0].label))
    per_row = 2 if any(len(figure.text) > 9 for figure in figures) else 3
    for start in range(0, len(figures), per_row):
        columns = st.columns(per_row)
        for column, figure in zip(columns, figures[start : start + per_row], strict=False):
            label = (figure.group or "—").upper() if grouped else figure.label
            column.metric(escape_markdown(label), escape_markdown(figure.text))
