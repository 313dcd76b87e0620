"""The Charges page on a fresh data folder, where the demo account syncs itself: the filters a
browser shows are the filters the figures are for, on the first run and on every run after."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Multiselect, Selectbox

import lib.render.finance.sync_panel as sync_panel
from lib.config import PROJECT_ROOT
from lib.store import get_engine
from lib.store.tables import mirror_charges
from lib.sync.jobs import SyncJobs
from tests.apptest_support import shown_text

PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
SYNC_SECONDS = 60


def drawn_choice(box: Selectbox) -> str:
    """The option a browser shows for this selectbox after this run: the value sent with the
    widget when the server sets it, else the widget's own default (what a browser shows when it
    draws the widget anew, after a rerun or when the sidebar is opened again)."""
    proto = box.proto
    return proto.raw_value if proto.set_value else proto.options[proto.default]


def drawn_choices(box: Multiselect) -> list[str]:
    """The options a browser shows as chosen in this multiselect after this run."""
    proto = box.proto
    if proto.set_value:
        return list(proto.raw_values)
    return [proto.options[index] for index in proto.default]


def demo_charges(since: datetime | None = None) -> int:
    charges = mirror_charges.c
    statement = sa.select(sa.func.count()).where(charges.account_key == "demo")
    if since is not None:
        statement = statement.where(charges.created >= int(since.timestamp()))
    with get_engine().connect() as connection:
        return int(connection.execute(statement).scalar_one())


@pytest.fixture
def fresh_syncs(monkeypatch: pytest.MonkeyPatch) -> SyncJobs:
    """No sync of this process is remembered, so the page starts one as on a fresh install."""
    jobs = SyncJobs()
    monkeypatch.setattr(sync_panel, "sync_jobs", jobs)
    return jobs


def wait_for_sync(jobs: SyncJobs) -> None:
    deadline = time.monotonic() + SYNC_SECONDS
    job = jobs.get("demo")
    assert job is not None, "the first visit starts a sync of the demo account"
    while job.running:
        assert time.monotonic() < deadline, "the demo sync did not finish"
        time.sleep(0.1)


def test_the_date_range_shown_is_the_one_the_figures_are_for(fresh_syncs: SyncJobs) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert drawn_choice(at.selectbox(key="charges_range")) == "Last 30 days"

    wait_for_sync(fresh_syncs)
    for _ in range(2):
        at.run()
        assert not at.exception
        assert drawn_choice(at.selectbox(key="charges_range")) == "Last 30 days"
        assert drawn_choices(at.multiselect(key="charges_status")) == []

    in_range = demo_charges(since=datetime.now(UTC) - timedelta(days=30))
    assert 0 < in_range < demo_charges()
    assert f"**{in_range:,} charges match** · totals per currency, never added across them" in (
        shown_text(at)
    )


def test_filters_from_a_link_are_shown_on_every_run(fresh_syncs: SyncJobs) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["range"] = "all"
    at.query_params["status"] = "failed"
    at.run()
    wait_for_sync(fresh_syncs)
    at.run()
    at.run()

    assert drawn_choice(at.selectbox(key="charges_range")) == "All time"
    assert drawn_choices(at.multiselect(key="charges_status")) == ["failed"]
    assert at.query_params["status"] == "failed"
