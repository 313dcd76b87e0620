"""A widget as it will be shown, without Streamlit: the compiled stage between a validated
definition and a renderer. The dashboard, `python -m lib.widgets preview` and the Charges page
all draw what `build_widget_view` and `rows_view` produce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from lib.providers.registry import provider_label
from lib.providers.types import ApiResponse
from lib.widgets.formatting import StatValue, badge_colors, compute_stat, format_rows
from lib.widgets.formatting import stat_left_out_note as stat_note_of
from lib.widgets.interaction_inputs import (
    ActiveFilter,
    InteractionInputs,
    json_value,
    row_identity,
    row_payload,
)
from lib.widgets.problems import ViewProblem, api_problem
from lib.widgets.schema import BadgeColor, DisplaySpec, FieldSpec, ViewKind, WidgetDefinition
from lib.widgets.table import TableValues, table_values
from lib.widgets.transform import apply_transform

CellKind = Literal["text", "money", "badge", "link"]
ACTION_LABEL = "View"
"""The label of a row's action button (action files name no label of their own)."""


@dataclass(frozen=True)
class Cell:
    """One field of one row as people read it."""

    key: str
    label: str
    kind: CellKind
    text: str
    """The display text: money in the row's currency, dates, badge text, a link's text."""
    badge: BadgeColor | None = None
    target: str | None = None
    """What a link field holds (its URL, not yet checked to be http(s))."""


@dataclass(frozen=True)
class RowView:
    """One row: its cells in field order, whether it is marked, and what an action sends."""

    cells: tuple[Cell, ...]
    highlighted: bool = False
    selected: bool = False
    """The row this widget last published."""
    payload: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    identity: str = ""

    def text(self, key: str) -> str:
        """The display text of field `key` ("" when the row has no such field)."""
        return next((cell.text for cell in self.cells if cell.key == key), "")


@dataclass(frozen=True)
class RowAction:
    """A button on each row: pressing it publishes `event_name` with the row's payload."""

    label: str
    event_name: str
    source: str | None
    """The event's source; None means the widget's own id."""


@dataclass(frozen=True)
class RowsView:
    """The rows a list, table or card shows, and for a table the values it sorts by."""

    fields: tuple[FieldSpec, ...]
    rows: tuple[RowView, ...]
    height: Literal["fixed", "auto"] | int = "auto"
    table: TableValues | None = None

    @property
    def selected(self) -> int | None:
        """The position of the selected row, if it is shown."""
        return next((index for index, row in enumerate(self.rows) if row.selected), None)


@dataclass(frozen=True)
class WidgetView:
    """Everything a renderer draws for one widget, in drawing order: filter chips, then a
    problem or the empty state, or else the summary, the stat figures and the rows."""

    title: str
    description: str
    kind: ViewKind
    filters: tuple[ActiveFilter, ...] = ()
    actions: tuple[RowAction, ...] = ()
    problem: ViewProblem | None = None
    empty_state: str | None = None
    summary: tuple[Cell, ...] = ()
    """Fields shown once, from the first row (summaryFields)."""
    stats: tuple[StatValue, ...] = ()
    stat_note: str = ""
    rows: RowsView | None = None
    total_rows: int = 0
    """Rows after filters, before `maxRows` (stats count all of them)."""


NO_INTERACTIONS = InteractionInputs()


def build_widget_view(
    definition: WidgetDefinition,
    answer: ApiResponse[Any] | ViewProblem | None,
    now: datetime,
    inputs: InteractionInputs = NO_INTERACTIONS,
    timezone: str = "UTC",
) -> WidgetView:
    """The widget `definition` showing `answer` (the response, a problem found before any
    request, or None when nothing was fetched) at `now`, after the interactions `inputs`.

    Dates are written in `timezone`. A failed response becomes its problem; no rows (or a
    required filter still unset) become the empty state; stats count every row, while at most
    `layout.maxRows` rows are listed, without the summary fields.
    """
    display = definition.display
    view = WidgetView(
        title=definition.name,
        description=definition.description,
        kind=display.view,
        filters=inputs.filters,
        actions=row_actions(definition),
    )
    if isinstance(answer, ViewProblem):
        return replace(view, problem=answer)
    if isinstance(answer, ApiResponse) and not answer.success:
        return replace(view, problem=api_problem(answer.error, provider_label(definition.provider)))
    if inputs.waiting or answer is None:
        return replace(view, empty_state=display.layout.empty_state)
    transformed = apply_transform(answer.data, definition.transform, now)
    frame = inputs.narrow(transformed).reset_index(drop=True)
    if frame.empty:
        return replace(view, empty_state=display.layout.empty_state)
    summary = [spec for spec in display.fields if spec.key in display.summary_fields]
    view = replace(
        view,
        summary=_cells(frame.head(1), _with_fields(display, summary), now, timezone)[0]
        if summary
        else (),
        stats=tuple(compute_stat(frame, display)),
        stat_note=stat_note_of(frame, display),
        total_rows=len(frame),
    )
    if display.view == "stat":
        return view
    row_fields = [spec for spec in display.fields if spec.key not in display.summary_fields]
    row_display = _with_fields(display, row_fields)
    if display.layout.max_rows is not None:
        frame = frame.head(display.layout.max_rows)
    keys = payload_keys(definition) if view.actions else None
    return replace(view, rows=rows_view(frame, row_display, now, timezone, inputs, keys))


def rows_view(
    frame: pd.DataFrame,
    display: DisplaySpec,
    now: datetime,
    timezone: str = "UTC",
    inputs: InteractionInputs = NO_INTERACTIONS,
    payload_keys: tuple[str, ...] | None = None,
) -> RowsView:
    """The rows of `frame` as `display` shows them, marked per `inputs`; with `payload_keys`,
    each row carries the payload its actions publish. A table view also gets its sort values."""
    frame = frame.reset_index(drop=True)
    marks = inputs.highlighted(frame).tolist()
    records = frame.to_dict("records")
    rows: list[RowView] = []
    for cells, marked, record in zip(
        _cells(frame, display, now, timezone), marks, records, strict=True
    ):
        payload = row_payload(record, payload_keys) if payload_keys is not None else {}
        identity = row_identity(record, payload) if payload_keys is not None else ""
        selected = bool(identity) and identity == inputs.published
        rows.append(RowView(cells, bool(marked), selected, MappingProxyType(payload), identity))
    table = None
    if display.view == "table":
        values, money = table_values(frame, display)
        for spec in display.fields:
            if spec.type == "icon":
                values[spec.key] = [row.text(spec.key) for row in rows]
        table = TableValues(values, tuple(money))
    return RowsView(tuple(display.fields), tuple(rows), display.layout.height, table)


def row_actions(definition: WidgetDefinition) -> tuple[RowAction, ...]:
    """The buttons on each row: one per `display.actions` entry, publishing
    `{provider}.{event}`; without actions, `events.onItemClick` alone gives one."""
    click = definition.events.on_item_click if definition.events is not None else None
    source = click.source if click is not None else None
    if definition.display.actions:
        return tuple(
            RowAction(ACTION_LABEL, f"{definition.provider}.{action.event}", source)
            for action in definition.display.actions
        )
    if click is not None:
        return (RowAction(ACTION_LABEL, click.event_name, source),)
    return ()


def payload_keys(definition: WidgetDefinition) -> tuple[str, ...]:
    """The row fields an action publishes: `events.onItemClick.payload`, else the fields shown."""
    click = definition.events.on_item_click if definition.events is not None else None
    if click is not None:
        return tuple(click.payload)
    return tuple(spec.key for spec in definition.display.fields)


def _with_fields(display: DisplaySpec, fields: list[FieldSpec]) -> DisplaySpec:
    return display.model_copy(update={"fields": fields})


def _cells(
    frame: pd.DataFrame, display: DisplaySpec, now: datetime, tz: str
) -> list[tuple[Cell, ...]]:
    # Built column by column from the vectorised formatters, then turned into rows.
    texts = format_rows(frame, display, now, tz)
    columns = []
    for spec in display.fields:
        kind = _kind(spec)
        colors = badge_colors(frame, spec).tolist() if kind == "badge" else None
        targets = _targets(frame, spec.key) if kind == "link" else None
        column = []
        for position, text in enumerate(texts[spec.key].tolist()):
            column.append(
                Cell(
                    spec.key,
                    spec.label,
                    kind,
                    text,
                    colors[position] if colors is not None else None,
                    targets[position] if targets is not None else None,
                )
            )
        columns.append(column)
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]


def _kind(spec: FieldSpec) -> CellKind:
    if spec.type == "badge":
        return "badge"
    if spec.format == "currency":
        return "money"
    return "link" if spec.type == "link" else "text"


def _targets(frame: pd.DataFrame, key: str) -> list[str | None]:
    if key not in frame.columns:
        return [None] * len(frame)
    return [None if json_value(value) is None else str(value) for value in frame[key].tolist()]
