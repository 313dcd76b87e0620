"""Drawing a `WidgetView` with Streamlit: chips, problem, summary, stat figures, and the rows as
a list, table or card. Nothing here decides what to show; clicks go back to the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
import streamlit as st

from lib.render.safe_markdown import (
    badge_markdown,
    code_markdown,
    escape_markdown,
    http_url,
    link_markdown,
)
from lib.render.shell import CREDENTIALS_PAGE
from lib.widgets.column_widths import (
    SELECTION_COLUMN_PX,
    TABLE_WIDTH_PX,
    fitted_widths,
    is_stripe_id,
    short_id,
)
from lib.widgets.formatting import StatValue
from lib.widgets.interaction_inputs import ActiveFilter
from lib.widgets.problems import ViewProblem
from lib.widgets.rows import Cell, ColumnView, RowsView, RowView
from lib.widgets.table import is_date, money_text
from lib.widgets.view import RowAction, WidgetView

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
# lib.dates' absolute format ("Nov 27, 2026, 14:05 UTC") in the browser's moment.js tokens.
DATETIME_FORMAT = "MMM D, YYYY, HH:mm z"
SELECTED_BADGE = ":blue-badge[:material/check: Selected]"
FIXED_LIST_ROWS = 8
"""A list of fixed height shows this many whole rows; the others open below on request."""
LIST_ROW_PX = 52
"""About the height of a list row with its View button (two lines of text at most)."""
FIXED_TABLE_ROWS = 10
# Streamlit's grid: 35 px a row (the header too) and 2 px of border: whole rows, none cut.
GRID_ROW_PX = 35
GRID_BORDER_PX = 2
ALERTS = {"info": st.info, "warning": st.warning, "error": st.error}

OnActions = Callable[[tuple[RowAction, ...], RowView], None]
"""Called with the actions a click triggered and the row they act on."""


def render_widget_view(
    view: WidgetView,
    key: str,
    on_clear_filter: Callable[[ActiveFilter], None],
    on_actions: OnActions,
) -> None:
    """Draw `view`; widget keys start with `key`. A pressed chip or action calls back."""
    st.markdown(f"#### {escape_markdown(view.title)}")
    if view.description:
        st.caption(escape_markdown(view.description))
    for chip in view.chips:
        label = f"{escape_markdown(chip.text)}  ✕"
        button_key = f"{key}-chip-{chip.active.index}"
        if st.button(label, key=button_key, icon=":material/filter_alt:", help="Clear this filter"):
            on_clear_filter(chip.active)
    if view.problem is not None:
        render_problem(view.problem)
        return
    if view.empty_state is not None:
        st.info(escape_markdown(view.empty_state))
        return
    if view.summary:
        render_cells(view.summary)
    render_stat(view.stats, view.stat_caption, view.stat_note)
    if view.rows is None:
        return
    if view.kind == "card":
        render_card(view.rows, view.actions, f"{key}-rows", on_actions)
    elif view.kind == "table":
        picked = render_table(view.rows, f"{key}-rows" if view.actions else None)
        if picked is not None:
            on_actions(view.actions, view.rows[picked])
    else:
        render_list(view.rows, view.actions, f"{key}-rows", on_actions)


def render_problem(problem: ViewProblem) -> None:
    """The problem in its severity's colour, and a link to the Credentials page when the fix
    is there."""
    text = f"{escape_markdown(problem.detail)} {problem.text}" if problem.detail else problem.text
    if problem.items:
        text += "\n\n" + "\n".join(f"- {code_markdown(item)}" for item in problem.items)
    ALERTS[problem.severity](text)
    if problem.link is not None:
        st.page_link(CREDENTIALS_PAGE, label=problem.link, icon=":material/key:")


def row_markdown(row: RowView) -> str:
    """One list item: the first money field in bold, then the other fields separated by dots."""
    parts: list[str] = []
    for cell in row.cells:
        if cell.kind == "badge":
            parts.append(badge_markdown(cell.text, cell.badge or "gray"))
        elif not cell.text:
            continue
        elif cell.kind == "money":
            parts.insert(0, f"**{escape_markdown(cell.text)}**")
        elif cell.kind == "link":
            parts.append(link_cell_markdown(cell))
        elif is_stripe_id(cell.text):
            parts.append(code_markdown(cell.text))
        else:
            parts.append(escape_markdown(cell.text))
    return " · ".join(parts)


def link_cell_markdown(cell: Cell) -> str:
    """A link field: its text pointing at its http(s) URL; any other value is shown as plain
    text, never as a link."""
    if http_url(cell.target) is None:
        return escape_markdown(cell.target or "")
    return link_markdown(cell.text, cell.target)


def render_list(
    rows: RowsView, actions: tuple[RowAction, ...], key: str, on_actions: OnActions
) -> None:
    """Rows as compact lines, each with its action buttons; marked rows stand in a box, the
    selected one with a "Selected" badge. Rows are whole: a list of fixed height shows its
    first rows and the rest under "Show more" rather than cutting a row at a scroll edge."""
    every = list(rows)
    shown = list_rows_shown(rows)
    for row in every[:shown]:
        render_list_row(row, actions, key, on_actions)
    hidden = every[shown:]
    if hidden:
        # Opened when it holds a marked row, so a selection is never out of sight.
        marked = any(row.highlighted for row in hidden)
        with st.expander(f"Show {len(hidden)} more", expanded=marked):
            for row in hidden:
                render_list_row(row, actions, key, on_actions)


def list_rows_shown(rows: RowsView) -> int:
    """How many rows a list shows before "Show more": all of an "auto" list, FIXED_LIST_ROWS
    of a "fixed" one, and about one per LIST_ROW_PX of an explicit height."""
    if rows.height == "auto":
        return len(rows)
    limit = FIXED_LIST_ROWS if rows.height == "fixed" else max(1, rows.height // LIST_ROW_PX)
    return min(limit, len(rows))


def render_list_row(
    row: RowView, actions: tuple[RowAction, ...], key: str, on_actions: OnActions
) -> None:
    """One list row; a marked row is boxed so it stands out, and the selected one says so."""
    text = (SELECTED_BADGE + " " if row.selected else "") + row_markdown(row)
    box = st.container(border=row.highlighted, key=f"{key}-row-{row.position}")
    if not actions:
        box.markdown(text)
        return
    left, right = box.columns([6, 1], vertical_alignment="center")
    left.markdown(text)
    with right:
        render_action_buttons(actions, row, f"{key}-{row.position}", on_actions)


def render_action_buttons(
    actions: tuple[RowAction, ...], row: RowView, key: str, on_actions: OnActions
) -> None:
    """One button per action; the first is keyed `key`, the others `key-<n>`."""
    for index, action in enumerate(actions):
        button_key = key if index == 0 else f"{key}-{index}"
        if st.button(escape_markdown(action.label), key=button_key, type="tertiary"):
            on_actions((action,), row)


def table_height(rows: RowsView) -> int | Literal["auto"]:
    """Pixels for a table's `layout.height`: whole rows (FIXED_TABLE_ROWS for "fixed", as many
    as fit an explicit number), never a row cut at the bottom; "auto" for "auto"."""
    if rows.height == "auto":
        return "auto"
    fit = FIXED_TABLE_ROWS if rows.height == "fixed" else rows.height // GRID_ROW_PX - 1
    shown = max(1, min(fit, len(rows)))
    return (shown + 1) * GRID_ROW_PX + GRID_BORDER_PX


def render_card(
    rows: RowsView, actions: tuple[RowAction, ...], key: str, on_actions: OnActions
) -> None:
    """The first row as label/value pairs, with its action buttons."""
    first = rows[0]
    render_cells(first.cells)
    if actions:
        render_action_buttons(actions, first, f"{key}-0", on_actions)


def render_cells(cells: tuple[Cell, ...]) -> None:
    """Each cell as "**Label**: value"; an empty value shows as a dash."""
    for cell in cells:
        if cell.kind == "badge":
            shown = badge_markdown(cell.text, cell.badge or "gray")
        elif cell.kind == "link" and cell.text:
            shown = link_cell_markdown(cell)
        elif is_stripe_id(cell.text):
            shown = code_markdown(cell.text)
        else:
            shown = escape_markdown(cell.text) if cell.text else "—"
        st.markdown(f"**{escape_markdown(cell.label)}**: {shown}")


def _column_config(column: ColumnView, pixels: int | None) -> object:
    """The grid column of `column`: its type, `pixels` wide, aligned as its format wants."""
    spec = column.field
    sizing: dict[str, object] = {}
    if column.width is not None:
        sizing = {"width": pixels, "alignment": column.width.align}
        if column.width.ids:
            sizing["help"] = "Ids are shortened to their first and last characters"
    if is_date(spec):
        formats = {"relative-time": "distance", "short-date": "MMM D, YYYY"}
        return st.column_config.DatetimeColumn(
            spec.label, format=formats.get(spec.format or "", DATETIME_FORMAT), **sizing
        )
    if spec.type == "link":
        return st.column_config.LinkColumn(spec.label, display_text=spec.link_text, **sizing)
    if spec.format == "percent":
        return st.column_config.NumberColumn(spec.label, format="percent", **sizing)
    if spec.format == "number" or (spec.type == "number" and spec.format is None):
        return st.column_config.NumberColumn(spec.label, format="localized", **sizing)
    return st.column_config.Column(spec.label, **sizing)


def table_styler(rows: RowsView) -> pd.io.formats.style.Styler:
    """A Styler whose money cells read in each row's currency while staying numeric."""
    assert rows.table is not None, "a table view carries its sort values"
    values = rows.table.values.copy()
    for spec in rows.fields:
        if spec.type == "link":
            # A link column opens whatever it holds: only http(s) URLs may stay.
            values[spec.key] = values[spec.key].map(http_url).astype("object")
    styler = values.style
    for column in rows.table.money:
        for currency in column.currencies.unique():
            positions = column.currencies.index[column.currencies == currency]
            styler = styler.format(
                lambda major, code=currency: money_text(major, code),
                subset=pd.IndexSlice[positions, [column.key]],
            )
    for column in rows.columns:
        if column.width is not None and column.width.ids:
            styler = styler.format(short_id, subset=[column.field.key], na_rep="")
        if badges := column.badges:
            css = [f"background-color: {BADGE_CSS[c][0]}; color: {BADGE_CSS[c][1]}" for c in badges]
            styler = styler.apply(lambda _col, css=css: css, subset=[column.field.key])
    marks = rows.highlighted
    if any(marks):
        styler = styler.apply(
            lambda row: [HIGHLIGHT_CSS if marks[row.name] else ""] * len(row), axis=1
        )
    return styler


def render_table(rows: RowsView, select_key: str | None) -> int | None:
    """A sortable table whose columns are as wide as their format needs (money right-aligned)
    and whose height holds whole rows; returns the selected row position when rows can be
    selected."""
    room = TABLE_WIDTH_PX - (SELECTION_COLUMN_PX if select_key is not None else 0)
    widths = [column.width for column in rows.columns if column.width is not None]
    fitted = iter(fitted_widths(widths, room))
    config = {
        column.field.key: _column_config(column, next(fitted) if column.width else None)
        for column in rows.columns
    }
    options = {
        "column_config": config,
        "hide_index": True,
        "height": table_height(rows),
        "width": "stretch",
    }
    if select_key is None:
        st.dataframe(table_styler(rows), **options)
        return None
    event = st.dataframe(
        table_styler(rows),
        key=select_key,
        on_select="rerun",
        selection_mode="single-row",
        **options,
    )
    picked = event.selection.rows if event is not None else []
    return picked[0] if picked else None


def render_stat(figures: tuple[StatValue, ...], caption: str, note: str) -> None:
    """One metric per group (per currency for money): never a total across currencies; the
    groups' heading `caption` above them unless empty."""
    if note:
        st.caption(note)
    if not figures:
        return
    grouped = figures[0].group is not None
    if grouped and caption:
        st.caption(escape_markdown(caption))
    per_row = 2 if any(len(figure.text) > 9 for figure in figures) else 3
    if grouped and per_row == 3 and len(figures) == 4:
        per_row = 4  # four short figures read better on one line than as three and one
    for start in range(0, len(figures), per_row):
        columns = st.columns(per_row)
        for column, figure in zip(columns, figures[start : start + per_row], strict=False):
            label = (figure.group or "—") if grouped else figure.label
            column.metric(escape_markdown(label), escape_markdown(figure.text))
