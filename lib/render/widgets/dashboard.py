"""The dashboard: every widget definition in its own card and fragment, its data fetched through
its own provider's connection (cached per connection, request and refresh interval), its view
built by `build_widget_view` (once for every session showing the same fetched data) and drawn by
`render_widget_view`, its clicks sent to the bus."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from lib.events import EventBus
from lib.providers.types import ApiError, ApiResponse, ErrorCode, ProviderName
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.widgets.views import render_problem, render_widget_view
from lib.widgets.customer_names import source_with_customer_names
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.interactions import WidgetInteractions
from lib.widgets.loader import LoadedWidget, load_widget_folder
from lib.widgets.problems import ViewProblem, definition_problem
from lib.widgets.rows import RowView
from lib.widgets.schema import DataSourceSpec, WidgetDefinition
from lib.widgets.server_event_rows import storage_problem_text
from lib.widgets.sources import WidgetSource
from lib.widgets.view import RowAction, WidgetView, build_widget_view
from lib.widgets.view_cache import ViewCache

DEFAULT_CACHE_SECONDS = 60
SERVER_EVENT_CHECK_MS = 3000
_SEEN_MARKER_KEY = "_dashboard_server_marker"
VIEW_MOMENT_SECONDS = 5
"""A shared view is drawn as at the start of its 5 s: relative times may lag by that much."""


@dataclass(frozen=True)
class WidgetContext:
    """What every widget of one page run shares."""

    bus: EventBus
    source_for: Callable[[ProviderName], WidgetSource | ViewProblem]
    """The connection a widget reading that provider goes through, or why there is none."""
    on_rejected: Callable[[WidgetSource, ApiError], None]
    """Called when a provider rejects a stored connection's credentials."""
    timezone: str = "UTC"
    refresh_marker: Callable[[list[str]], str] | None = None
    """A token that changes when a server event matching one of the patterns arrives."""
    server_events: Callable[[list[str]], list[dict[str, Any]] | None] | None = None
    """Rows of the stored server events matching the patterns (None: storage unreadable)."""


def render_dashboard(widgets_dir: Path, context: WidgetContext, columns: int = 2) -> None:
    """Every `*.json` in `widgets_dir` in position order, in rows of `columns` cards; a table
    gets a row of its own, so its columns have the page's width. A broken file shows its error
    card only."""
    loaded = load_widget_folder(widgets_dir)
    if not loaded:
        st.info(f"No widget definitions found in {code_markdown(widgets_dir)}.")
        return
    loaded.sort(key=lambda item: item.definition.position if item.definition else 0)
    for row in dashboard_rows(loaded, columns):
        if len(row) == 1 and is_table(row[0]):
            render_widget(row[0], context)
            continue
        for cell, item in zip(st.columns(columns), row, strict=False):
            with cell:
                render_widget(item, context)
    intervals = [
        (item.definition.data_source.refresh_interval or DEFAULT_CACHE_SECONDS * 1000) / 1000
        for item in loaded
        if item.definition is not None and item.definition.data_source.type == "api"
    ]
    watch_server_events(server_event_patterns(loaded, context), context, intervals)


def server_event_patterns(loaded: list[LoadedWidget], context: WidgetContext) -> list[str]:
    """The stored server events the page's widgets show or refetch after, in first-seen order."""
    patterns: dict[str, None] = {}
    for item in loaded:
        definition = item.definition
        if definition is None:
            continue
        if definition.data_source.type == "server-events":
            patterns.update(dict.fromkeys(spec.pattern for spec in definition.subscriptions))
        elif definition.data_source.type == "api":
            interactions = WidgetInteractions(
                item.widget_id, definition, context.bus, st.session_state
            )
            patterns.update(dict.fromkeys(interactions.server_refresh_patterns()))
    return list(patterns)


def watch_server_events(
    patterns: list[str], context: WidgetContext, intervals: list[float] | None = None
) -> None:
    """One small fragment per page that looks every SERVER_EVENT_CHECK_MS for a stored server
    event matching `patterns`, and at the widgets' refresh `intervals` (seconds), and reruns
    the page when an event arrived or an interval began: each widget's own fragment then needs
    to rerun only on its interval (cheap for many open sessions), and its data is as fresh as
    when every fragment reran every few seconds."""
    marker_of = context.refresh_marker
    if not patterns or marker_of is None:
        return
    periods = sorted(set(intervals or []))

    @st.fragment(run_every=timedelta(milliseconds=SERVER_EVENT_CHECK_MS))
    def server_event_watch() -> None:
        now = time.time()
        buckets = ",".join(str(math.floor(now / seconds)) for seconds in periods)
        marker = f"{marker_of(patterns)}|{buckets}"
        seen = st.session_state.get(_SEEN_MARKER_KEY)
        st.session_state[_SEEN_MARKER_KEY] = marker
        if seen is not None and seen != marker:
            st.rerun()

    server_event_watch()


def dashboard_rows(loaded: list[LoadedWidget], columns: int) -> list[list[LoadedWidget]]:
    """The widgets in order, `columns` to a row, except that each table has a row to itself."""
    rows: list[list[LoadedWidget]] = []
    for item in loaded:
        if is_table(item):
            rows.append([item])
        elif rows and not is_table(rows[-1][0]) and len(rows[-1]) < columns:
            rows[-1].append(item)
        else:
            rows.append([item])
    return rows


def is_table(item: LoadedWidget) -> bool:
    """True for a widget shown as a table."""
    return item.definition is not None and item.definition.display.view == "table"


def render_widget(item: LoadedWidget, context: WidgetContext) -> None:
    """One widget card: its own fragment, rerun on its refresh interval without the page."""
    with st.container(border=True, key=f"widget-card-{item.widget_id}"):
        if item.definition is None:
            st.markdown(f"**{escape_markdown(item.file.name)}**")
            render_problem(definition_problem(str(item.error or "").splitlines()))
            return
        definition = item.definition
        interval = definition.data_source.refresh_interval
        # A stored server event reruns the page (`watch_server_events`), not each fragment.
        run_every = timedelta(milliseconds=interval) if interval else None

        @st.fragment(run_every=run_every)
        def widget_fragment() -> None:
            render_widget_body(item.widget_id, definition, context)

        widget_fragment()


def render_widget_body(
    widget_id: str, definition: WidgetDefinition, context: WidgetContext
) -> None:
    """Build the widget's view from its data and the session's interactions, and draw it."""
    interactions = WidgetInteractions(widget_id, definition, context.bus, st.session_state)
    interactions.subscribe()
    inputs = interactions.inputs()
    answer: ApiResponse[Any] | ViewProblem | None = None
    fetch_id = None
    if not inputs.waiting:
        answer, fetch_id = widget_answer(definition, context, interactions)
    view = widget_view(definition, answer, fetch_id, inputs, context.timezone)

    def clear_filter(active: ActiveFilter) -> None:
        interactions.clear_filter(active.index)
        st.rerun()

    def publish(actions: tuple[RowAction, ...], row: RowView) -> None:
        names = tuple(action.event_name for action in actions)
        if interactions.publish_row(names, dict(row.payload), row.identity, view.event_source):
            st.rerun()

    render_widget_view(view, f"widget-{widget_id}", clear_filter, publish)


def widget_view(
    definition: WidgetDefinition,
    answer: ApiResponse[Any] | ViewProblem | None,
    fetch_id: str | None,
    inputs: InteractionInputs,
    timezone: str,
) -> WidgetView:
    """The widget's view now. A view of fetched data (`fetch_id` names the fetch) is built once
    per fetch, interactions, timezone and VIEW_MOMENT_SECONDS, and shared by every session
    agreeing on them; any other is built for this run."""
    if fetch_id is None:
        return build_widget_view(definition, answer, datetime.now(UTC), inputs, timezone)
    moment = math.floor(time.time() / VIEW_MOMENT_SECONDS) * VIEW_MOMENT_SECONDS
    key = (fetch_id, definition.model_dump_json(), repr(inputs), timezone, moment)
    now = datetime.fromtimestamp(moment, UTC)
    return shared_views().get(
        key, lambda: build_widget_view(definition, answer, now, inputs, timezone)
    )


@st.cache_resource(show_spinner=False)
def shared_views() -> ViewCache[WidgetView]:
    """The process's widget views, shared by its sessions."""
    return ViewCache(max_entries=256)


def widget_answer(
    definition: WidgetDefinition, context: WidgetContext, interactions: WidgetInteractions
) -> tuple[ApiResponse[Any] | ViewProblem, str | None]:
    """The widget's data: the session's events for event-driven widgets, the inline data of a
    static one, stored server events for a server-events one, else the API through the
    widget's own provider (cached), with the id of that fetch (None for the others)."""
    source = source_with_customer_names(definition)
    if source.type == "event-driven":
        return ApiResponse(success=True, data={"data": interactions.event_payloads()}), None
    if source.type == "static":
        return ApiResponse(success=True, data=source.data), None
    if source.type == "server-events":
        patterns = [spec.pattern for spec in definition.subscriptions]
        rows = None if context.server_events is None else context.server_events(patterns)
        if rows is None:
            return ViewProblem("warning", storage_problem_text()), None
        return ApiResponse(success=True, data={"data": rows}), None
    connection = context.source_for(definition.provider)
    if isinstance(connection, ViewProblem):
        return connection, None
    seconds = (source.refresh_interval or DEFAULT_CACHE_SECONDS * 1000) / 1000
    bucket = math.floor(time.time() / seconds)
    extra = interactions.query_params()
    marker = ""
    if context.refresh_marker is not None:
        marker = context.refresh_marker(interactions.server_refresh_patterns())
    request_key = json.dumps(
        {
            "source": source.model_dump(mode="json", by_alias=True),
            "extra": extra,
            "refresh": [interactions.refresh_count(), marker],
        },
        sort_keys=True,
        default=str,
    )
    response, fetch_id = cached_fetch(
        connection.cache_key,
        request_key,
        bucket,
        _connection=connection,
        _source=source,
        _now=datetime.fromtimestamp(bucket * seconds, UTC),
        _extra=extra,
    )
    if response.success:
        return response, fetch_id
    error = response.error
    if connection.stored and error is not None and error.code == ErrorCode.UNAUTHORIZED:
        context.on_rejected(connection, error)
    return connection.problem(response), None


@st.cache_data(ttl=3600, max_entries=512, show_spinner=False)
def cached_fetch(
    cache_key: str,
    request_key: str,
    bucket: int,
    *,
    _connection: WidgetSource,
    _source: DataSourceSpec,
    _now: datetime,
    _extra: dict[str, Any],
) -> tuple[ApiResponse[Any], str]:
    """One API response per connection, request and refresh interval, shared by every session,
    with an id of this fetch that views built from it are shared under.

    The arguments starting with `_` are not hashed: the key is the connection's non-secret key,
    the request and the time bucket, so credentials never enter the cache key.
    """
    return _connection.fetch(_source, _now, _extra), uuid.uuid4().hex
