"""What the first page of a new app process would otherwise do while its visitor waits: import
the modules the dashboard draws with, open the credentials store (generating the encryption key on
a fresh install) and, on the demo account, build its data. Done once, on a background thread,
as soon as the server is up, so it overlaps the browser loading the app."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from lib.accounts import stripe_adapter_for

log = logging.getLogger(__name__)

PAGE_MODULES = (
    "lib.render.access",
    "lib.render.gate",
    "lib.render.session",
    "lib.render.shell",
    "lib.render.widgets",
)
"""What `app.py` and the default page (the dashboard) import: with them pandas and the widget
engine. Other pages' modules (Altair, the finance views) load on their first visit, as before,
so an idle process stays as small."""

Lifespan = Callable[[Any], AbstractAsyncContextManager[None]]


def warm_up() -> None:
    """Import the dashboard's modules, open the credentials store and build the account's adapter
    (the demo account's data when the app reads it); a failure is logged, never raised."""
    started = time.perf_counter()
    try:
        for name in PAGE_MODULES:
            importlib.import_module(name)
        from lib.render.session import current_account

        stripe_adapter_for(current_account())
    except Exception as error:  # the first page does the same work and shows what is wrong
        log.warning("warm-up stopped: %s", type(error).__name__)
        return
    log.info("warmed up in %.1f s", time.perf_counter() - started)


def with_warm_up(lifespan: Lifespan, work: Callable[[], None] = warm_up) -> Lifespan:
    """`lifespan`, starting `work` on a background thread once the app has started."""

    @asynccontextmanager
    async def warmed(app: Any) -> AsyncIterator[None]:
        async with lifespan(app):
            threading.Thread(target=work, name="warm-up", daemon=True).start()
            yield None

    return warmed
