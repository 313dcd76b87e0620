"""The Event Debugger page: the session's and the server's events live as a table (like
Stripe's Events list) whose selected event opens in a side panel, replay, safe mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import get_args

import streamlit as st

from lib.auth import AdminAction
from lib.config import get_settings
from lib.dates import format_datetime, format_relative
from lib.events import EventBus, EventOrigin, InvalidPatternError, validate_pattern
from lib.events.timeline import TimelineItem, build_timeline, timeline_sources
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.selectable_table import clear_selection, select_item
from lib.render.session import session_bus
from lib.render.viewer import viewer_time_zone
from lib.store import get_engine
from lib.webhooks import ServerEvent, latest_server_event_id, list_server_events
from lib.webhooks import publish_server_event as publish_into_bus
from lib.widgets.loader import load_widget_folder

LIVE_INTERVAL = timedelta(seconds=2)
SHOWN_EVENTS = 100
PATTERN_KEY = "debugger-pattern"
SOURCES_KEY = "debugger-sources"
ORIGIN_KEY = "debugger-origin"
LIVE_KEY = "debugger-live"
SAFE_MODE_KEY = "debugger-safe-mode"
CLEAR_KEY = "debugger-clear"
TABLE_KEY_PREFIX = "debugger-events-"
DETAIL_WIDTH = 560
# Stored server events up to this id were cleared from this session's view (the rows stay).
_CLEARED_AFTER = "_debugger_server_cleared_after"


@dataclass(frozen=True)
class TimelineFilters:
    """What the user narrowed the timeline to; empty `sources` means every source."""

    pattern: str | None
    sources: list[str]
    origin: EventOrigin | None


def render_event_debugger_page() -> None:
    """The whole page: a live timeline tab and a subscriptions tab."""
    st.title("Event Debugger")
    bus = session_bus()
    timeline_tab, subscriptions_tab = st.tabs(["Timeline", "Subscriptions"])
    with timeline_tab:
        render_timeline_tab(bus)
    with subscriptions_tab:
        render_subscriptions(bus)


def render_timeline_tab(bus: EventBus) -> None:
    """Filters and controls, then the timeline in a fragment that refreshes itself unless paused."""
    server_events, problem = stored_server_events()
    filters = render_filters(build_timeline(bus.log(), server_events))
    live = render_controls(bus)
    if problem:
        st.warning(problem)
    if filters is None:
        return

    @st.fragment(run_every=LIVE_INTERVAL if live else None)
    def live_timeline() -> None:
        events, _problem = stored_server_events()
        items = build_timeline(
            bus.log(),
            events,
            pattern=filters.pattern,
            sources=filters.sources,
            origin=filters.origin,
        )
        render_timeline(bus, items, {event.id: event for event in events})

    live_timeline()


def render_filters(everything: list[TimelineItem]) -> TimelineFilters | None:
    """Pattern, source and origin filters; None (after showing why) when the pattern is invalid."""
    left, middle, right = st.columns([2, 2, 1])
    typed = left.text_input(
        "Event pattern",
        key=PATTERN_KEY,
        placeholder="stripe.* or stripe.*.failed",
        help="An event name, `*` for everything, `stripe.*` for any depth below `stripe.`, "
        "or a `*` segment in the middle.",
        persist_state="session",
    )
    chosen = st.session_state.get(SOURCES_KEY) or []
    sources = middle.multiselect(
        "Source",
        options=sorted({*timeline_sources(everything), *chosen}),
        key=SOURCES_KEY,
        placeholder="All sources",
        persist_state="session",
    )
    origin = right.segmented_control(
        "Origin", options=list(get_args(EventOrigin)), key=ORIGIN_KEY, persist_state="session"
    )
    pattern = (typed or "").strip() or None
    if pattern is not None:
        try:
            validate_pattern(pattern)
        except InvalidPatternError as error:
            st.error(escape_markdown(error))
            return None
    return TimelineFilters(pattern, list(sources), origin)


def render_controls(bus: EventBus) -> bool:
    """Live updates, safe mode and clear; returns whether the timeline updates itself."""
    live_column, safe_column, clear_column = st.columns([1, 1, 1], vertical_alignment="center")
    live = live_column.toggle(
        "Live updates",
        value=True,
        key=LIVE_KEY,
        help=f"Refresh the timeline every {LIVE_INTERVAL.total_seconds():g} s.",
        persist_state="session",
    )
    bus.safe_mode = safe_column.toggle(
        "Safe mode",
        value=bus.safe_mode,
        key=SAFE_MODE_KEY,
        help="Log new events but deliver them to no widget.",
    )
    clear_column.button(
        "Clear log",
        key=CLEAR_KEY,
        icon=":material/delete_sweep:",
        on_click=clear_timeline,
        args=(bus,),
        help="Empty this session's log and hide the server events received so far "
        "(they stay listed on the Webhooks page).",
    )
    if bus.safe_mode:
        st.warning("Safe mode is on: new events are logged and held, no widget receives them.")
    if not live:
        st.caption("Paused: new events appear when live updates are turned back on.")
    return live


def render_timeline(
    bus: EventBus, items: list[TimelineItem], server_events: dict[int, ServerEvent]
) -> None:
    """The newest events as a table, latest first; the selected one's details in a side panel."""
    if not items:
        filtered = any(st.session_state.get(k) for k in (PATTERN_KEY, SOURCES_KEY, ORIGIN_KEY))
        st.info(
            "No event matches the filters."
            if filtered
            else "No events yet. Select a payment on the Dashboard, or wait for a Stripe event."
        )
        return
    shown = items[:SHOWN_EVENTS]
    count = f"{len(items)} event{'' if len(items) == 1 else 's'}"
    if len(items) > len(shown):
        count = f"The latest {len(shown)} of {len(items)} events"
    st.caption(f"{count}, by when they happened, latest first. Tick a row to see its details.")
    zone = viewer_time_zone()
    selected = render_table(shown, zone)
    if selected is not None:
        stored_id = selected.server_event_id
        show_details(bus, selected, None if stored_id is None else server_events[stored_id], zone)


def render_table(items: list[TimelineItem], zone: tzinfo) -> TimelineItem | None:
    """One row per event; returns the selected event (it stays selected as events arrive)."""
    return select_item(
        items,
        row=partial(timeline_row, zone=zone),
        item_key=lambda item: item.key,
        key=TABLE_KEY_PREFIX,
        column_config=TIMELINE_COLUMNS,
    )


TIMELINE_COLUMNS = {
    "Time": st.column_config.TextColumn(width=190, help="When the event happened"),
    "Event": st.column_config.TextColumn(width=170),
    "Source": st.column_config.TextColumn(width=150),
    "Origin": st.column_config.TextColumn(width=110),
    "Reach": st.column_config.TextColumn(
        width=170, help="Whom it reached in this session, or what the server did with it"
    ),
}


def timeline_row(item: TimelineItem, zone: tzinfo) -> dict[str, str]:
    """One event as a table row: time, name, source, origin and reach."""
    return {
        "Time": format_datetime(item.at, zone, seconds=True),
        "Event": item.name,
        "Source": item.source,
        "Origin": item.origin_label,
        "Reach": item_reach(item),
    }


def item_reach(item: TimelineItem) -> str:
    """The delivery outcome, then how many handlers failed and whether it is a replay."""
    parts = [item.outcome]
    if item.errors:
        parts.append(f"{len(item.errors)} error{'' if len(item.errors) == 1 else 's'}")
    if item.replay_of:
        parts.append("replay")
    return " · ".join(parts)


@st.dialog(
    "Event details",
    position="right",
    width=DETAIL_WIDTH,
    on_dismiss=partial(clear_selection, TABLE_KEY_PREFIX),
)
def show_details(
    bus: EventBus, item: TimelineItem, server_event: ServerEvent | None, zone: tzinfo
) -> None:
    """The selected event beside the table: its facts, handler errors, Replay and payload."""
    st.markdown(f"**{code_markdown(item.name)}**")
    st.markdown(item_details(item, zone, datetime.now(UTC)))
    for error in item.errors:
        st.error(escape_markdown(error))
    # Replaying this session's own events is everyone's; a stored server event is an admin's.
    if server_event is None or current_actor().is_admin:
        # The check runs in the callback, so a click forged into a rerun is refused too.
        replayed = st.button(
            "Replay",
            key=f"debugger-replay-{item.key}",
            icon=":material/replay:",
            help="Deliver this event again to the current subscribers of this session.",
            on_click=replay_item,
            args=(bus, item, server_event),
        )
        if replayed:
            st.rerun()  # the whole page, so the table lists the replay at once
    st.json(item.payload, expanded=True)


def item_details(item: TimelineItem, zone: tzinfo, now: datetime) -> str:
    """The facts of one event as a markdown list, every value shown literally."""
    happened = f"{format_datetime(item.at, zone, seconds=True)} ({format_relative(item.at, now)})"
    lines = [f"- Happened: {escape_markdown(happened)}"]
    lines.append(f"- Kind: {escape_markdown(item.kind_label)}")
    if item.stored_at is not None:
        stored = format_datetime(item.stored_at, zone, seconds=True)
        lines.append(f"- Stored by this app: {escape_markdown(stored)}")
    lines.append(f"- Source: {escape_markdown(item.source)} · {escape_markdown(item.origin_label)}")
    lines.append(f"- Reach: {escape_markdown(item_reach(item))}")
    if item.bus_event_id:
        lines.append(f"- Event id: {code_markdown(item.bus_event_id)}")
    if item.server_event_id is not None:
        channel = escape_markdown(item.channel)
        lines.append(f"- Stored event #{item.server_event_id}, arrived by {channel}")
    if item.replay_of:
        lines.append(f"- Replay of {code_markdown(item.replay_of)}")
    if item.delivered_to:
        lines.append("- Delivered to: " + ", ".join(code_markdown(s) for s in item.delivered_to))
    return "\n".join(lines)


def replay_item(bus: EventBus, item: TimelineItem, server_event: ServerEvent | None) -> None:
    """Re-deliver a logged event, or publish a stored server event into this session's bus.

    The replay shows at the top of the timeline with whom it reached.
    """
    if server_event is not None:
        actor = permit(AdminAction.EVENT_REPLAY)
        if actor is None:
            return
        publish_into_bus(bus, server_event)
        replayed = f"{server_event.name} ({server_event.stripe_event_id})"
        record(actor, AdminAction.EVENT_REPLAY, ok=True, account=None, detail=replayed)
    elif item.bus_event_id is not None:
        bus.replay(event_ids=[item.bus_event_id])


def clear_timeline(bus: EventBus) -> None:
    """Empty the session's log and hide the stored server events received until now."""
    bus.clear()
    try:
        newest = latest_server_event_id(get_engine())
    except Exception:  # storage down: the session's own log is still cleared
        return
    if newest is not None:
        st.session_state[_CLEARED_AFTER] = newest


def stored_server_events() -> tuple[list[ServerEvent], str | None]:
    """The newest stored server events not cleared from this view, or a message saying why not."""
    try:
        events = list_server_events(
            get_engine(), limit=SHOWN_EVENTS, after_id=st.session_state.get(_CLEARED_AFTER)
        )
    except Exception as error:  # storage down must leave this session's own events visible
        return [], (
            f"Server events cannot be read ({type(error).__name__}); "
            "showing this session's events only."
        )
    return events, None


def render_subscriptions(bus: EventBus) -> None:
    """Current subscriptions of this session, grouped by the widget that made them."""
    grouped = bus.subscriptions_by_subscriber()
    if not grouped:
        st.info(
            "No widget has subscribed in this session yet: each widget subscribes to its "
            "patterns when the Dashboard shows it."
        )
        return
    names = widget_names()
    for subscriber, patterns in grouped.items():
        title = names.get(subscriber, subscriber)
        st.markdown(f"**{escape_markdown(title)}** ({code_markdown(subscriber)})")
        st.markdown("\n".join(f"- {code_markdown(pattern)}" for pattern in patterns))


def widget_names() -> dict[str, str]:
    """Widget id to the name in its definition, for the widgets that load."""
    return {
        item.widget_id: item.definition.name
        for item in load_widget_folder(get_settings().widgets_dir)
        if item.definition is not None
    }
