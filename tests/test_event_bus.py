"""EventBus: what widgets and the event debugger rely on."""

import itertools
import threading
import time

import pytest

from lib.events import (
    Event,
    EventBus,
    HandlerError,
    InvalidEventNameError,
    InvalidPatternError,
    SubscriptionInfo,
)


class Recorder:
    """A handler that remembers the events it was given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]


def test_each_pattern_form_reaches_the_events_it_names():
    bus = EventBus()
    exact, everything, below_stripe, any_failed = Recorder(), Recorder(), Recorder(), Recorder()
    bus.subscribe("stripe.payment.selected", exact, "detail")
    bus.subscribe("*", everything, "debugger")
    bus.subscribe("stripe.*", below_stripe, "feed")
    bus.subscribe("stripe.*.failed", any_failed, "alerts")

    names = [
        "stripe.payment.selected",
        "stripe.payment.failed",
        "stripe.customer.subscription.failed",
        "jira.issue.created",
    ]
    for name in names:
        bus.publish(name, {}, "test")

    assert exact.names == ["stripe.payment.selected"]
    assert everything.names == names
    assert below_stripe.names == names[:3]
    assert any_failed.names == ["stripe.payment.failed"]
    assert bus.log()[1].delivered_to == ("debugger", "feed", "alerts")


def test_malformed_pattern_is_refused_at_subscribe_time_with_the_reason():
    bus = EventBus()
    with pytest.raises(InvalidPatternError, match=r"segment 2 \('pay\*'\)"):
        bus.subscribe("stripe.pay*", Recorder(), "table")
    assert bus.subscriptions() == []


def test_malformed_event_name_is_refused_and_not_logged():
    bus = EventBus()
    with pytest.raises(InvalidEventNameError, match="dot-separated words"):
        bus.publish("stripe.*", {}, "table")
    assert bus.log() == []


def test_subscribing_again_on_rerun_replaces_the_handler_in_place():
    bus = EventBus()
    calls: list[str] = []
    first = bus.subscribe("stripe.*", lambda event: calls.append("table, run 1"), "table")
    bus.subscribe("*", lambda event: calls.append("debugger"), "debugger")
    again = bus.subscribe("stripe.*", lambda event: calls.append("table, run 2"), "table")

    bus.publish("stripe.payment.selected", {"id": "pi_1"}, "table")

    assert calls == ["table, run 2", "debugger"]
    assert again.id == first.id
    assert bus.subscriptions() == [
        SubscriptionInfo("table", "stripe.*", first.id),
        SubscriptionInfo("debugger", "*", bus.subscriptions()[1].id),
    ]


def test_unsubscribe_handle_removes_only_its_subscription_and_is_idempotent():
    bus = EventBus()
    gone, kept = Recorder(), Recorder()
    handle = bus.subscribe("stripe.*", gone, "table")
    bus.subscribe("jira.*", kept, "table")

    handle.unsubscribe()
    handle.unsubscribe()
    bus.publish("stripe.payment.selected", {}, "x")
    bus.publish("jira.issue.created", {}, "x")

    assert gone.events == []
    assert kept.names == ["jira.issue.created"]
    assert bus.subscriptions_by_subscriber() == {"table": ["jira.*"]}

    fresh = Recorder()
    bus.subscribe("stripe.*", fresh, "table")
    handle.unsubscribe()
    bus.publish("stripe.payment.selected", {}, "x")
    assert fresh.names == ["stripe.payment.selected"]


def test_unsubscribe_all_removes_every_pattern_of_one_subscriber():
    bus = EventBus()
    table, debugger = Recorder(), Recorder()
    bus.subscribe("stripe.*", table, "table")
    bus.subscribe("jira.*", table, "table")
    bus.subscribe("*", debugger, "debugger")
    assert bus.subscriptions_by_subscriber() == {
        "table": ["stripe.*", "jira.*"],
        "debugger": ["*"],
    }

    bus.unsubscribe_all("table")
    entry = bus.publish("stripe.payment.selected", {}, "x")

    assert table.events == []
    assert entry.delivered_to == ("debugger",)
    assert bus.subscriptions_by_subscriber() == {"debugger": ["*"]}


def test_log_keeps_the_newest_max_log_entries():
    bus = EventBus(max_log=3)
    entries = [bus.publish(f"tick.n{i}", {"i": i}, "clock") for i in range(5)]

    assert [e.event.name for e in bus.log()] == ["tick.n2", "tick.n3", "tick.n4"]
    assert bus.entry(entries[0].event.id) is None
    assert bus.entry(entries[4].event.id) == entries[4]


def test_log_filters_by_pattern_source_and_origin_in_publish_order():
    bus = EventBus()
    bus.publish("stripe.payment.selected", {}, "payments-table")
    bus.publish("stripe.payment.received", {}, "webhook", origin="server")
    bus.publish("jira.issue.created", {}, "jira-widget")
    bus.publish("stripe.payment.failed", {}, "payments-table")

    def names(entries):
        return [e.event.name for e in entries]

    assert names(bus.log("stripe.payment.*")) == [
        "stripe.payment.selected",
        "stripe.payment.received",
        "stripe.payment.failed",
    ]
    assert names(bus.log(source="payments-table")) == [
        "stripe.payment.selected",
        "stripe.payment.failed",
    ]
    assert names(bus.log(origin="server")) == ["stripe.payment.received"]
    assert names(bus.log("stripe.*", source="payments-table", origin="browser")) == [
        "stripe.payment.selected",
        "stripe.payment.failed",
    ]
    with pytest.raises(InvalidPatternError):
        bus.log("stripe..x")


def test_replay_delivers_logged_events_to_current_subscribers_as_new_entries():
    bus = EventBus()
    early, late = Recorder(), Recorder()
    early_handle = bus.subscribe("stripe.*", early, "early")
    selected = bus.publish("stripe.payment.selected", {"id": "pi_1"}, "table")
    bus.publish("jira.issue.created", {"key": "OPS-1"}, "jira")
    early_handle.unsubscribe()
    bus.subscribe("*", late, "late")

    replays = bus.replay("stripe.*")

    assert early.names == ["stripe.payment.selected"]
    assert late.names == ["stripe.payment.selected"]
    [replayed] = replays
    assert replayed.replay_of == selected.event.id
    assert replayed.event.id != selected.event.id
    assert (replayed.event.name, replayed.event.payload, replayed.event.source) == (
        "stripe.payment.selected",
        {"id": "pi_1"},
        "table",
    )
    assert replayed.delivered_to == ("late",)
    assert bus.log()[-1] == replayed
    assert bus.entry(selected.event.id) == selected

    [again] = bus.replay(event_ids=[replayed.event.id])
    assert again.replay_of == selected.event.id
    assert bus.replay(event_ids=["evt_local_unknown"]) == []


def test_safe_mode_logs_events_as_held_and_delivers_them_after_resume_by_replay():
    bus = EventBus()
    handler = Recorder()
    bus.subscribe("*", handler, "table")

    bus.safe_mode = True
    held = bus.publish("stripe.payment.selected", {"id": "pi_1"}, "table")
    assert held.held is True
    assert held.delivered_to == ()
    assert handler.events == []
    assert bus.log() == [held]

    bus.safe_mode = False
    live = bus.publish("stripe.payment.selected", {"id": "pi_2"}, "table")
    assert live.held is False
    assert [e.payload["id"] for e in handler.events] == ["pi_2"]

    bus.replay(event_ids=[held.event.id])
    assert [e.payload["id"] for e in handler.events] == ["pi_2", "pi_1"]


def test_a_failing_handler_is_recorded_and_later_handlers_still_run():
    bus = EventBus()
    before, after = Recorder(), Recorder()

    def broken(event: Event) -> None:
        raise ValueError(f"no row for {event.payload['id']}")

    bus.subscribe("stripe.*", before, "summary")
    bus.subscribe("stripe.*", broken, "detail")
    bus.subscribe("stripe.*", after, "chart")

    entry = bus.publish("stripe.payment.selected", {"id": "pi_9"}, "table")

    assert before.names == after.names == ["stripe.payment.selected"]
    assert entry.delivered_to == ("summary", "chart")
    assert entry.errors == (HandlerError("detail", "ValueError", "no row for pi_9"),)
    assert bus.entry(entry.event.id) == entry


def test_a_handler_that_republishes_stops_at_the_depth_limit():
    bus = EventBus(max_depth=3)
    calls: list[int] = []

    def echo(event: Event) -> None:
        calls.append(event.payload["n"])
        bus.publish("loop.ping", {"n": event.payload["n"] + 1}, "echo")

    bus.subscribe("loop.*", echo, "echo")
    top = bus.publish("loop.ping", {"n": 0}, "test")

    entries = bus.log()
    assert calls == [0, 1, 2, 3]
    assert [e.depth for e in entries] == [0, 1, 2, 3, 4]
    assert [e.cascade_blocked for e in entries] == [False, False, False, False, True]
    assert entries[-1].delivered_to == ()
    assert top.delivered_to == ("echo",)

    after = bus.publish("other.event", {}, "test")
    assert after.depth == 0


def test_a_control_flow_exception_from_a_handler_propagates_without_leaking_depth():
    bus = EventBus(max_depth=0)

    class Rerun(BaseException):
        """Stands in for Streamlit's st.rerun(), which derives from BaseException."""

    def rerun(event: Event) -> None:
        raise Rerun

    bus.subscribe("table.selected", rerun, "table")
    with pytest.raises(Rerun):
        bus.publish("table.selected", {}, "table")

    entry = bus.publish("detail.opened", {}, "detail")
    assert (entry.depth, entry.cascade_blocked) == (0, False)


def test_payload_is_delivered_exactly_and_the_log_keeps_it_as_published():
    bus = EventBus()
    handler = Recorder()
    bus.subscribe("stripe.payment.selected", handler, "detail")
    payload = {"id": "pi_1", "amount": 1999, "currency": "jpy", "meta": {"tags": ["a", "b"]}}

    entry = bus.publish("stripe.payment.selected", payload, "table")
    payload["meta"]["tags"].append("changed later")

    [event] = handler.events
    assert event == entry.event
    assert event.payload == {
        "id": "pi_1",
        "amount": 1999,
        "currency": "jpy",
        "meta": {"tags": ["a", "b"]},
    }
    assert event.to_dict() == {
        "id": event.id,
        "name": "stripe.payment.selected",
        "payload": event.payload,
        "source": "table",
        "timestamp": event.timestamp,
        "origin": "browser",
    }
    assert event.id.startswith("evt_local_")


def test_timestamps_are_wall_clock_with_millisecond_precision_and_strictly_increasing():
    bus = EventBus(max_log=1000)
    started = time.time()
    first = bus.publish("tick.a", {}, "clock")
    time.sleep(0.003)
    second = bus.publish("tick.b", {}, "clock")
    burst = [bus.publish("tick.c", {}, "clock").event.timestamp for _ in range(500)]

    assert started <= first.event.timestamp <= started + 1
    assert 0.002 <= second.event.timestamp - first.event.timestamp < 0.5
    stamps = [first.event.timestamp, second.event.timestamp, *burst]
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_events_within_one_clock_tick_still_sort_in_publish_order(monkeypatch):
    monkeypatch.setattr("lib.events.bus.time.time", lambda: 1_800_000_000.0)
    bus = EventBus()
    stamps = [bus.publish("tick.same", {}, "clock").event.timestamp for _ in range(100)]

    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert stamps[-1] - stamps[0] < 0.001


def test_clear_empties_the_log_but_keeps_subscriptions():
    bus = EventBus()
    handler = Recorder()
    bus.subscribe("*", handler, "debugger")
    bus.publish("a.one", {}, "x")
    bus.publish("a.two", {}, "x")

    bus.clear()
    assert bus.log() == []

    entry = bus.publish("a.three", {}, "x")
    assert bus.log() == [entry]
    assert handler.names == ["a.one", "a.two", "a.three"]


def test_publish_rejects_an_unknown_origin():
    with pytest.raises(ValueError, match="origin must be one of"):
        EventBus().publish("a.b", {}, "x", origin="email")  # type: ignore[arg-type]


def test_concurrent_publishers_lose_no_events():
    bus = EventBus(max_log=10_000)
    received = Recorder()
    bus.subscribe("load.*", received, "counter")
    start = threading.Barrier(8)

    def publish_many(worker: int) -> None:
        start.wait()
        for i in range(500):
            bus.publish(f"load.w{worker}", {"i": i}, f"worker-{worker}")

    threads = [threading.Thread(target=publish_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entries = bus.log()
    assert len(entries) == 4000
    assert len({e.event.id for e in entries}) == 4000
    assert len(received.events) == 4000
    assert all(len(bus.log(source=f"worker-{w}")) == 500 for w in range(8))
    assert all(e.delivered_to == ("counter",) for e in entries)
    stamps = [e.event.timestamp for e in entries]
    assert stamps == sorted(stamps)
