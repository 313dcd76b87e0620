"""The dashboard: every widget definition rendered in its own card, fragment and error state."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from lib.accounts import StripeAccount
from lib.events import EventBus
from lib.providers.base import ProviderAdapter
from lib.providers.types import ApiError, ApiResponse, ErrorCode
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.shell import CREDENTIALS_PAGE
from lib.widgets.fetch import fetch_source
from lib.widgets.interactions import WidgetInteractions
from lib.widgets.loader import LoadedWidget, load_widget_folder
from lib.widgets.render_views import render_card, render_list, render_stat, render_table
from lib.widgets.schema import DataSourceSpec, WidgetDefinition
from lib.widgets.transform import apply_transform

DEFAULT_CACHE_SECONDS = 60
SERVER_EVENT_CHECK_MS = 3000


@dataclass(frozen=True)
class WidgetContext:
    """What every widget of one page run shares."""

    account: StripeAccount
    adapter: ProviderAdapter
    bus: EventBus
    timezone: str = "UTC"
    on_unauthorized: Callable[[ApiError], None] | None = None
    refresh_marker: Callable[[list[str]], str] | None = None
    """A token that changes when a server event matching one of the patterns arrives."""


def render_dashboard(widgets_dir: Path, context: WidgetContext, columns: int = 2) -> None:
    """Every `*.json` in `widgets_dir` in a grid; a broken file shows its error card only."""
    loaded = load_widget_folder(widgets_dir)
    if not loaded:
        st.info(f"No widget definitions found in {code_markdown(widgets_dir)}.")
        return
    loaded.sort(key=lambda item: item.definition.position if item.definition else 0)
    grid = st.columns(columns)
    for index, item in enumerate(loaded):
        with grid[index % columns]:
            render_widget(item, context)


def render_widget(item: LoadedWidget, context: WidgetContext) -> None:
    """One widget card: its own fragment, rerun on its refresh interval without the page."""
    with st.container(border=True, key=f"widget-card-{item.widget_id}"):
        if item.definition is None:
            render_error_card(item)
            return
        definition = item.definition
        interval = definition.data_source.refresh_interval
        # Rerun often enough to notice a stored server event; data stays cached per interval.
        run_every = (
            timedelta(milliseconds=min(interval, SERVER_EVENT_CHECK_MS)) if interval else None
        )

        @st.fragment(run_every=run_every)
        def widget_fragment() -> None:
            render_widget_body(item.widget_id, definition, context)

        widget_fragment()


def render_error_card(item: LoadedWidget) -> None:
    """The widget's file name and every problem of its definition, each with file and path."""
    st.markdown(f"**{escape_markdown(item.file.name)}**")
    problems = str(item.error).splitlines() if item.error else ["unknown problem"]
    st.error(
        "This widget definition cannot be used:\n\n"
        + "\n".join(f"- {code_markdown(problem)}" for problem in problems)
    )


def render_widget_body(
    widget_id: str, definition: WidgetDefinition, context: WidgetContext
) -> None:
    interactions = WidgetInteractions(widget_id, definition, context.bus, st.session_state)
    interactions.subscribe()
    st.markdown(f"#### {escape_markdown(definition.name)}")
    if definition.description:
        st.caption(escape_markdown(definition.description))
    render_filter_chips(widget_id, interactions)
    if interactions.waiting_for_selection():
        st.info(escape_markdown(definition.display.layout.empty_state))
        return
    response = widget_response(widget_id, definition, context, interactions)
    if not response.success:
        render_api_error(response.error, context)
        return
    now = datetime.now(UTC)
    frame = apply_transform(response.data, definition.transform, now)
    frame = interactions.narrow(frame)
    if frame.empty:
        st.info(escape_markdown(definition.display.layout.empty_state))
        return
    render_view(widget_id, definition, frame, now, context, interactions)


def render_filter_chips(widget_id: str, interactions: WidgetInteractions) -> None:
    """One chip per active filter, "Filtered by customer cus_...  ✕", that clears it."""
    for active in interactions.active_filters():
        label = f"Filtered by {escape_markdown(active.field)} {escape_markdown(active.value)}  ✕"
        if st.button(
            label, key=f"widget-{widget_id}-chip-{active.index}", icon=":material/filter_alt:"
        ):
            interactions.clear_filter(active.index)
            st.rerun()


def render_view(
    widget_id: str,
    definition: WidgetDefinition,
    frame: pd.DataFrame,
    now: datetime,
    context: WidgetContext,
    interactions: WidgetInteractions,
) -> None:
    """Summary card and stat figures first (over every row), then the rows themselves."""
    display = definition.display
    frame = frame.reset_index(drop=True)
    if display.summary_fields:
        render_card(frame, display, now, context.timezone, display.summary_fields)
    if display.stat is not None:
        render_stat(frame, display)
    if display.view == "stat":
        return
    rows_display = display.model_copy(
        update={"fields": [f for f in display.fields if f.key not in display.summary_fields]}
    )
    if display.layout.max_rows is not None:
        frame = frame.head(display.layout.max_rows)
    highlighted = interactions.highlighted(frame)
    select_key = f"widget-{widget_id}-rows" if interactions.selectable else None
    if display.view == "card":
        render_card(frame, rows_display, now, context.timezone, [])
        return
    if display.view == "table":
        picked = render_table(frame, rows_display, highlighted, select_key)
    else:
        picked = render_list(frame, rows_display, now, context.timezone, highlighted, select_key)
    if picked is not None and interactions.publish_selection(frame.iloc[picked]):
        st.rerun()


def widget_response(
    widget_id: str,
    definition: WidgetDefinition,
    context: WidgetContext,
    interactions: WidgetInteractions,
) -> ApiResponse[Any]:
    """The widget's data: the session's events for event-driven widgets, else the API (cached)."""
    source = definition.data_source
    if source.type == "event-driven":
        return ApiResponse(success=True, data={"data": interactions.event_payloads()})
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
    now = datetime.fromtimestamp(bucket * seconds, UTC)
    response = cached_fetch(
        context.account.key,
        request_key,
        bucket,
        _source=source,
        _adapter=context.adapter,
        _account=context.account,
        _now=now,
        _extra=extra,
    )
    if (
        not response.success
        and response.error is not None
        and response.error.code == ErrorCode.UNAUTHORIZED
        and context.on_unauthorized is not None
    ):
        context.on_unauthorized(response.error)
    return response


@st.cache_data(ttl=3600, max_entries=512, show_spinner=False)
def cached_fetch(
    account_key: str,
    request_key: str,
    bucket: int,
    *,
    _source: DataSourceSpec,
    _adapter: ProviderAdapter,
    _account: StripeAccount,
    _now: datetime,
    _extra: dict[str, Any],
) -> ApiResponse[Any]:
    """One API response per account, request and refresh interval, shared by every session.

    The arguments starting with `_` are not hashed: the key is the account's non-secret key,
    the request and the time bucket, so credentials never enter the cache key.
    """
    return fetch_source(_source, _adapter, _account.credentials, _now, _extra)


def render_api_error(error: ApiError | None, context: WidgetContext) -> None:
    """A plain message and what to do; a rejected key offers the way to reconnect."""
    if error is None:
        st.error("The data could not be loaded.")
        return
    if error.code in (ErrorCode.UNAUTHORIZED, ErrorCode.INVALID_CREDENTIALS):
        where = (
            "the key in STRIPE_SECRET_KEY"
            if context.account.source == "settings"
            else "the stored Stripe connection"
        )
        st.warning(f"Stripe rejected {where}. Reconnect Stripe to see this widget.")
        st.page_link(CREDENTIALS_PAGE, label="Reconnect Stripe", icon=":material/key:")
        return
    advice = {
        "retry": "Try again in a moment; the widget retries on its next refresh.",
        "reconnect": "Reconnect Stripe on the Credentials page.",
        "contact-support": "Check the widget definition or contact support.",
    }[error.action.value]
    if error.code == ErrorCode.RATE_LIMITED:
        st.warning(f"Stripe is rate limiting requests. {advice}")
    else:
        st.error(f"{escape_markdown(error.message)} {advice}")
