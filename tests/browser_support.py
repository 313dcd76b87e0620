"""Debian's Chromium driven by Playwright (no browser downloads here), for the tests that need a
real browser: a page to drive, and its screenshot and HTML kept when a step fails."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from lib.config import PROJECT_ROOT
from tests.ci import missing_requirement

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WAIT_MS = 30_000


def require_chromium() -> Path:
    """Debian's Chromium; the test is skipped when it is missing, except under CI=true."""
    if not CHROMIUM.is_file():
        missing_requirement(
            f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        )
    return CHROMIUM


@contextlib.contextmanager
def chromium_browser(extra_args: tuple[str, ...] = ()) -> Iterator[Browser]:
    """Debian's Chromium, headless (with `extra_args`), closed afterwards."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


def new_session_page(browser: Browser, width: int = 1400, height: int = 1000) -> Page:
    """A page in a context of its own (its own cookies, so its own app session) that waits up
    to WAIT_MS for what a step looks for."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(WAIT_MS)
    return page


@contextlib.contextmanager
def chromium_page(width: int, height: int) -> Iterator[Page]:
    """A page of `width` x `height` pixels in Debian's Chromium that waits up to WAIT_MS for
    what a step looks for; the browser is closed afterwards."""
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(WAIT_MS)
        yield page


@contextlib.contextmanager
def saved_on_failure(page: Page, name: str) -> Iterator[None]:
    """On any failure inside, save the page's screenshot and HTML to test-artifacts/."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = ARTIFACTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
        except PlaywrightError as error:
            print(f"browser test failed; could not save the page: {error}")
        else:
            print(f"browser test failed; screenshot: {stem}.png, page HTML: {stem}.html")
        raise
