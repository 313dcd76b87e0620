"""A widget as it will be shown, without Streamlit: the compiled stage between a validated
definition and a renderer. The dashboard, `python -m lib.widgets preview` and the Charges page
all draw what `build_widget_view` (and, for the Charges table, `rows_view`) produce."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lib.providers.registry import provider_label
from lib.providers.types import ApiResponse
from lib.widgets.formatting import StatValue, compute_stat, stat_left_out_note
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.problems import ViewProblem, api_problem
from lib.widgets.rows import NO_INTERACTIONS, Cell, RowsView, rows_view
from lib.widgets.schema import (
    DisplaySpec,
    FieldSpec,
    ItemClickSpec,
    ViewKind,
    WidgetDefinition,
)
from lib.widgets.transform import apply_transform

ACTION_LABEL = "View"
"""The label of a row's action button (action files name no label of their own)."""


@dataclass(frozen=True)
class RowAction:
    """A button on each row: pressing it publishes `event_name` with the row's payload."""

    label: str
    event_name: str


@dataclass(frozen=True)
class WidgetView:
    """Everything a renderer draws for one widget, in drawing order: filter chips, then a
    problem or the empty state, or else the summary, the stat figures and the rows."""

    title: str
    description: str
    kind: ViewKind
    filters: tuple[ActiveFilter, ...] = ()
    actions: tuple[RowAction, ...] = ()
    event_source: str | None = None
    """The source of the events the actions publish; None means the widget's own id."""
    problem: ViewProblem | None = None
    empty_state: str | None = None
    summary: tuple[Cell, ...] = ()
    """Fields shown once, from the first row (summaryFields)."""
    stats: tuple[StatValue, ...] = ()
    stat_note: str = ""
    rows: RowsView | None = None
    total_rows: int = 0
    """Rows after filters, before `maxRows` (stats count all of them)."""


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
    click = _on_item_click(definition)
    view = WidgetView(
        title=definition.name,
        description=definition.description,
        kind=display.view,
        filters=inputs.filters,
        actions=row_actions(definition),
        event_source=click.source if click is not None else None,
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
    summary_display = _with_fields(display, summary, view="card")
    view = replace(
        view,
        summary=rows_view(frame.head(1), summary_display, now, timezone)[0].cells,
        stats=tuple(compute_stat(frame, display)),
        stat_note=stat_left_out_note(frame, display),
        total_rows=len(frame),
    )
    if display.view == "stat":
        return view
    row_fields = [spec for spec in display.fields if spec.key not in display.summary_fields]
    row_display = _with_fields(display, row_fields, view=display.view)
    if display.layout.max_rows is not None:
        frame = frame.head(display.layout.max_rows)
    keys = payload_keys(definition) if view.actions else None
    return replace(view, rows=rows_view(frame, row_display, now, timezone, inputs, keys))


def row_actions(definition: WidgetDefinition) -> tuple[RowAction, ...]:
    """The buttons on each row: one per `display.actions` entry, publishing
    `{provider}.{event}`; without actions, `events.onItemClick` alone gives one."""
    if definition.display.actions:
        return tuple(
            RowAction(ACTION_LABEL, f"{definition.provider}.{action.event}")
            for action in definition.display.actions
        )
    click = _on_item_click(definition)
    return () if click is None else (RowAction(ACTION_LABEL, click.event_name),)


def payload_keys(definition: WidgetDefinition) -> tuple[str, ...]:
    """The row fields an action publishes: `events.onItemClick.payload`, else the fields shown."""
    click = _on_item_click(definition)
    if click is not None:
        return tuple(click.payload)
    return tuple(spec.key for spec in definition.display.fields)


def _on_item_click(definition: WidgetDefinition) -> ItemClickSpec | None:
    return definition.events.on_item_click if definition.events is not None else None


def _with_fields(display: DisplaySpec, fields: list[FieldSpec], view: ViewKind) -> DisplaySpec:
    return display.model_copy(update={"fields": fields, "view": view})
