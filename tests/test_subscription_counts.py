"""One meaning per number: the Subscriptions page and the Dashboard's Subscriptions widget count
subscriptions per status the same way, on the demo account, and the page says which statuses
MRR counts instead of calling their sum "active"."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lib.config import PROJECT_ROOT
from lib.sync.jobs import SyncJobs
from tests.apptest_support import run_app, shown_text, unescape
from tests.test_charges_first_visit import fresh_syncs, wait_for_sync

__all__ = ["fresh_syncs"]

SUBSCRIPTIONS_PAGE = str(PROJECT_ROOT / "app_pages" / "subscriptions.py")
STATUSES = {"active", "past_due", "trialing", "unpaid"}


def status_counts(at: AppTest) -> dict[str, str]:
    """The figures labelled with a subscription status ("Past due" and "PAST_DUE" alike)."""
    counts = {}
    for metric in at.metric:
        status = unescape(metric.label).strip().lower().replace(" ", "_")
        if status in STATUSES:
            counts[status] = unescape(metric.value)
    return counts


def test_the_page_and_the_dashboard_count_each_status_alike(fresh_syncs: SyncJobs) -> None:
    page = AppTest.from_file(SUBSCRIPTIONS_PAGE, default_timeout=60).run()
    wait_for_sync(fresh_syncs)
    page.run()
    dashboard = run_app()

    on_page = status_counts(page)
    assert set(on_page) == STATUSES
    assert status_counts(dashboard) == on_page
    in_mrr = int(on_page["active"]) + int(on_page["past_due"])
    assert f"MRR counts active and past-due subscriptions: {in_mrr} now." in shown_text(page)
