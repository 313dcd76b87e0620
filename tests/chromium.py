"""Debian's Chromium for browser tests (Playwright drives it; no browser is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
# How long a browser step waits for what it looks for.
WAIT_MS = 30_000


def require_chromium() -> Path:
    """CHROMIUM when installed; otherwise skip the test, or fail it under CI=true."""
    if not CHROMIUM.is_file():
        reason = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    return CHROMIUM
