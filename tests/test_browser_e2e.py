"""The app in a real browser: `streamlit run app.py` driven through Debian's Chromium by
Playwright. The event mesh on the demo account; hostile data (a connected account's name, widget
rows, stored events full of markdown, HTML, bare URLs and e-mail addresses pointing at an evil
host) that must produce no link to that host and no image from it in the DOM: GFM's autolinking
runs in the browser, so only a browser can prove it does not happen. A failure leaves a
screenshot and the page's HTML in `test-artifacts/` and prints their paths."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Locator, Page

from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox, create_db_engine, migrate
from lib.store.crypto import KEY_FILE_NAME
from lib.store.db import SQLITE_FILE_NAME
from lib.webhooks.events_store import list_server_events, new_event, record_outcomes, store_event
from tests.app_process import AppProcess
from tests.browser_support import ARTIFACTS, chromium_page, require_chromium, saved_on_failure
from tests.test_event_mesh_app import demo_get
from tests.test_hostile_markdown import EVIL, PHISH, hostile, widget

pytestmark = pytest.mark.browser

# Streamlit's data grid: rows (and the header) are 35 px tall, the selection box column is first.
ROW_HEIGHT = 35
ROW_MARKER_X = 16


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; skipped when missing, except under CI=true where that is a failure."""
    return require_chromium()


@dataclass(frozen=True)
class ServedApp:
    url: str
    database_url: str


@pytest.fixture
def served_app(chromium: Path, tmp_path: Path) -> Iterator[ServedApp]:
    """The app served on a free loopback port from a fresh data dir, always on the demo account."""
    data_dir = tmp_path / "app-data"
    # Blank values win over any secrets.toml, so the app reads the demo account and SQLite.
    env = {
        "APP_DATA_DIR": str(data_dir),
        "STRIPE_SECRET_KEY": "",
        "DATABASE_URL": "",
        "EVENTS_POLL_ENABLED": "false",
    }
    app = AppProcess(env, tmp_path)
    try:
        yield ServedApp(app.url, f"sqlite:///{data_dir / SQLITE_FILE_NAME}")
    finally:
        app.stop()


@pytest.fixture
def page(chromium: Path) -> Iterator[Page]:
    """A page in Debian's Chromium that waits up to WAIT_MS for what a step looks for."""
    with chromium_page(1400, 1000) as page:
        yield page


def timeline_row(page: Page, text: str) -> Locator:
    """The Event Debugger's table row showing `text`, in the grid's accessible table (drawn
    off-screen, so wait for it to be attached, not visible)."""
    grid = page.get_by_test_id("stDataFrame").first
    return grid.locator("tr", has_text=text).first


def tick_row(page: Page, row: Locator) -> None:
    """Tick the selection box of `row`: the grid draws on a canvas, so click where it is."""
    row.wait_for(state="attached")
    position = int(row.get_attribute("aria-rowindex") or "0") - 1  # the header is row 1
    assert position >= 1, "not a data row"
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + ROW_MARKER_X, box["y"] + ROW_HEIGHT * position + ROW_HEIGHT / 2)


def store_webhook_event(database_url: str, event: dict[str, Any]) -> None:
    """Store `event` in the served app's database, as its webhook endpoint would."""
    engine = create_db_engine(database_url)
    try:
        store_event(engine, new_event(event, json.dumps(event), "webhook"))
    finally:
        engine.dispose()


def store_payment_event(database_url: str, event_id: str, charge_id: str) -> None:
    """Store a `charge.succeeded` event that just happened, as the webhook endpoint would."""
    store_webhook_event(
        database_url,
        {
            "id": event_id,
            "type": "charge.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": charge_id, "amount": 1500, "currency": "eur"}},
        },
    )


def test_a_selected_payment_reaches_the_customer_widget_and_the_event_debugger(
    served_app: ServedApp, page: Page, request: pytest.FixtureRequest
) -> None:
    with saved_on_failure(page, request.node.name):
        page.goto(served_app.url)
        view = page.locator(".st-key-widget-stripe-payments-rows-0")
        view.wait_for()
        row = view.locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]").inner_text()
        listed = demo_get("/charges", {"limit": 20, "expand": ["data.customer"]})["data"]
        payment = max(
            (charge for charge in listed if charge["status"] == "succeeded"),
            key=lambda charge: charge["created"],
        )
        customer = payment["customer"]
        # The first row names the newest payment's customer; it shows no customer id.
        assert customer["name"] in row and "cus_" not in row, row

        view.get_by_role("button", name="View").click()

        card = page.locator(".st-key-widget-card-customer")
        card.get_by_text(f"Customer: {customer['name']}").first.wait_for()
        card.get_by_text(customer["email"]).wait_for()
        page.locator(".st-key-widget-card-stripe-payments").get_by_text("Selected").wait_for()

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Event Debugger").click()

        event = timeline_row(page, "stripe.payment.selected")
        event.locator("td", has_text="reached 2 subscribers").wait_for(state="attached")
        tick_row(page, event)
        details = page.get_by_role("dialog")
        details.get_by_text(payment["id"]).wait_for()
        page.keyboard.press("Escape")
        details.wait_for(state="detached")

        # A server event arriving now shows up without anyone touching the page.
        store_payment_event(served_app.database_url, "evt_browser_live", "ch_browser_live")
        arrived = timeline_row(page, "stripe.payment.received")
        arrived.locator("td", has_text="server · webhook").wait_for(state="attached")


ACCOUNT_NAME = hostile("account")
# Every link and image of the page whose target is the evil host (mailto: included).
FIND_EVIL = """(host) => {
  const bad = [];
  const leads = (value) => {
    if (!value) return false;
    try {
      const url = new URL(value, location.href);
      if (url.protocol === "mailto:") return url.href.toLowerCase().includes(host);
      return url.hostname === host || url.hostname.endsWith("." + host);
    } catch (error) {
      return value.toLowerCase().includes(host);
    }
  };
  for (const a of document.querySelectorAll("a")) {
    if (leads(a.getAttribute("href"))) bad.push(a.outerHTML);
  }
  for (const img of document.querySelectorAll("img, source, image, iframe, video, audio")) {
    for (const name of ["src", "srcset", "href", "xlink:href"]) {
      if (leads(img.getAttribute(name))) bad.push(img.outerHTML);
    }
  }
  return bad;
}"""


@pytest.fixture
def hostile_app(chromium: Path, tmp_path: Path) -> Iterator[str]:
    """The app on a data dir holding a connection with a hostile account name and a hostile
    stored event, showing widgets whose rows are hostile; yields its URL."""
    data_dir = tmp_path / "app-data"
    data_dir.mkdir()
    key = Fernet.generate_key()
    (data_dir / KEY_FILE_NAME).write_bytes(key + b"\n")
    engine = create_db_engine(f"sqlite:///{data_dir / SQLITE_FILE_NAME}")
    try:
        migrate(engine)
        CredentialsStore(engine, SecretBox([key])).save(
            "local",
            "stripe",
            ProviderCredentials(pat="sk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242"),
            ConnectionInfo(
                masked_key="sk_test_...4242",
                account_id="acct_1Hostile",
                account_name=ACCOUNT_NAME,
                mode="test",
            ),
        )
        event = {
            "id": f"evt_{PHISH}",
            "type": "charge.failed",
            "created": int(time.time()),
            "data": {"object": {"id": "ch_x", "description": hostile("payload")}},
        }
        store_event(engine, new_event(event, json.dumps(event), "webhook"))
        [stored] = list_server_events(engine, limit=1)
        record_outcomes(engine, {stored.id: hostile("processing error")})
    finally:
        engine.dispose()
    widgets = tmp_path / "widgets"
    widgets.mkdir()
    definitions = {
        "list.json": widget("list", "List"),
        "card.json": widget("card", "Card"),
        "summary.json": widget("list", "Summary", summaryFields=["customer_name", "receipt"]),
    }
    for name, definition in definitions.items():
        (widgets / name).write_text(json.dumps(definition), encoding="utf-8")
    env = {
        "APP_DATA_DIR": str(data_dir),
        "WIDGETS_DIR": str(widgets),
        "STRIPE_SECRET_KEY": "",
        "APP_ENCRYPTION_KEY": "",
        "DATABASE_URL": "",
        "EVENTS_POLL_ENABLED": "false",
        # Nothing listens there: a request to Stripe would fail instead of leaving the machine.
        "STRIPE_API_BASE": "http://127.0.0.1:9/v1",
    }
    app = AppProcess(env, tmp_path)
    try:
        yield app.url
    finally:
        app.stop()


def evil_elements(page: Page) -> list[str]:
    return page.evaluate(FIND_EVIL, EVIL)


def test_no_page_links_to_or_loads_from_a_host_named_in_the_data(
    hostile_app: str, page: Page, request: pytest.FixtureRequest
) -> None:
    with saved_on_failure(page, request.node.name):
        page.goto(hostile_app)
        for card in ("list", "card", "summary"):
            box = page.locator(f".st-key-widget-card-{card}")
            box.get_by_text("sign in again", exact=False).first.wait_for()
        page.get_by_text("anahelp@evil.example").first.wait_for()
        assert evil_elements(page) == []
        receipt = page.locator(".st-key-widget-card-list a", has_text="Receipt").first
        receipt.wait_for()
        assert receipt.get_attribute("href") == "https://ok.example/receipt/1"
        assert receipt.inner_text() == "Receipt"
        assert page.get_by_text("javascript:alert(document.cookie)").count() > 0

        page.goto(hostile_app + "/credentials")
        page.get_by_text("Account:", exact=False).first.wait_for()
        page.get_by_text("account [Your session expired", exact=False).first.wait_for()
        assert evil_elements(page) == []

        page.goto(hostile_app + "/webhooks")
        page.get_by_text("Received events").wait_for()
        page.get_by_test_id("stDataFrame").first.wait_for()
        assert evil_elements(page) == []

        page.goto(hostile_app + "/events")
        tick_row(page, timeline_row(page, "stripe.payment.failed"))
        details = page.get_by_role("dialog")
        details.get_by_text("processing error [Your session expired", exact=False).wait_for()
        assert evil_elements(page) == []


SCREEN = {"width": 1440, "height": 900}
# Each page: its name in test-artifacts/, its path, and what shows once its data is drawn.
PAGES = [
    ("dashboard", "/", ".st-key-widget-card-subscriptions [data-testid='stDataFrame']"),
    ("charges", "/charges", "[class*='st-key-charges_table-'] [data-testid='stDataFrame']"),
    ("subscriptions", "/subscriptions", "[data-testid='stVegaLiteChart']"),
    ("credentials", "/credentials", "[data-testid='stExpander']"),
    ("webhooks", "/webhooks", "[data-testid='stDataFrame']"),
    ("event-debugger", "/events", "[data-testid='stDataFrame']"),
    ("audit-log", "/audit", "[data-testid='stDataFrame']"),
]
# Every data grid whose columns do not all fit its box (the grid then scrolls sideways), and
# every scrolling box outside the grids that cuts what it holds.
FIND_HIDDEN_CONTENT = """() => {
  const name = (element) => {
    const keyed = element.closest("[class*='st-key-']");
    const key = keyed ? [...keyed.classList].find((c) => c.startsWith("st-key-")) : "";
    return key || element.getAttribute("data-testid") || element.tagName;
  };
  const wide = [];
  for (const grid of document.querySelectorAll("[data-testid='stDataFrame']")) {
    const scroller = grid.querySelector(".dvn-scroller");
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
      wide.push(`${name(grid)}: columns ${scroller.scrollWidth}px in ${scroller.clientWidth}px`);
    }
  }
  const cut = [];
  const main = document.querySelector("[data-testid='stMain']");
  for (const box of main.querySelectorAll("div")) {
    if (box.closest("[data-testid='stDataFrame']")) continue;
    const overflow = getComputedStyle(box).overflowY;
    if ((overflow === "auto" || overflow === "scroll") && box.scrollHeight > box.clientHeight + 1) {
      cut.push(`${name(box)}: ${box.scrollHeight}px shown in ${box.clientHeight}px`);
    }
  }
  return {wide, cut};
}"""
# Streamlit scrolls inside its main area, so a full-page shot first makes the window as tall.
CONTENT_HEIGHT = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  return Math.ceil(Math.max(main.scrollHeight, document.documentElement.scrollHeight));
}"""


def settle(page: Page, ready: str) -> None:
    """Wait for `ready` and for Streamlit to stop running and drawing placeholders."""
    page.locator(ready).first.wait_for()
    page.get_by_test_id("stStatusWidget").wait_for(state="detached")
    page.get_by_test_id("stSkeleton").first.wait_for(state="detached")
    page.wait_for_timeout(1000)  # let the grids measure their columns


def full_page_shot(page: Page, name: str) -> Path:
    """A screenshot of the whole page at the screen's width in test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = max(SCREEN["height"], int(page.evaluate(CONTENT_HEIGHT)))
    page.set_viewport_size({"width": SCREEN["width"], "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(SCREEN)
    return path


def test_every_page_at_1440_wide_shows_its_tables_without_sideways_scrolling(
    served_app: ServedApp, page: Page, request: pytest.FixtureRequest
) -> None:
    page.set_viewport_size(SCREEN)
    hidden: dict[str, dict[str, list[str]]] = {}
    with saved_on_failure(page, request.node.name):
        page.goto(served_app.url + "/webhooks")
        # The demo's events, read from its Events API, fill the Webhooks and Debugger tables.
        page.get_by_role("button", name="Sync now").click()
        page.get_by_text("Stored ", exact=False).first.wait_for()
        for name, path, ready in PAGES:
            page.goto(served_app.url + path)
            settle(page, ready)
            hidden[name] = page.evaluate(FIND_HIDDEN_CONTENT)
            full_page_shot(page, f"page-{name}")
        page.goto(served_app.url)
        settle(page, PAGES[0][2])
        page.locator(".st-key-widget-stripe-payments-rows-0").get_by_role("button").click()
        page.locator(".st-key-widget-card-customer [data-testid='stMetric']").first.wait_for()
        settle(page, PAGES[0][2])
        hidden["dashboard-selected"] = page.evaluate(FIND_HIDDEN_CONTENT)
        full_page_shot(page, "page-dashboard-selected")

    problems = [
        f"{name}: {line}" for name, found in hidden.items() for line in found["wide"] + found["cut"]
    ]
    assert not problems, "\n".join(problems)
