"""The webhook worker, the Events API poller and the housekeeping purge of this process, started
by the app's lifespan.

Every app process runs all three; with several processes on one PostgreSQL each job holds its
lock (`lib.store.singleton`) while it works, so the queue is worked on by one worker at a time,
the account is polled once per interval in all and one purge runs at a time.

`streamlit run app.py` and `uvicorn app:app` both run the lifespan; Streamlit's AppTest does
not, so under tests nothing runs in the background unless a test starts it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from lib.accounts import StripeAccount
from lib.config import Settings, get_settings
from lib.store import get_engine
from lib.webhooks.housekeeping import Housekeeping
from lib.webhooks.poller import (
    PeriodicPoller,
    PollResult,
    app_account,
    catch_up_events,
    poll_if_due,
)
from lib.webhooks.rejection_counter import RejectionCounter
from lib.webhooks.worker import WebhookWorker


class WebhookRuntime:
    """Owns the worker and the housekeeping purge (always), the poller (when `polling_enabled`
    at start) and the webhook route's refusal counter (flushed at stop)."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings] = get_settings,
        engine: Callable[[], Engine] = get_engine,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self.worker = WebhookWorker(engine)
        self.housekeeping = Housekeeping(engine=engine, settings=settings)
        self.rejections = RejectionCounter(engine)
        self._poller: PeriodicPoller | None = None

    @property
    def polling(self) -> bool:
        """Whether the periodic Events API poller is running."""
        return self._poller is not None and self._poller.running

    def start(self) -> None:
        """Start the worker and the housekeeping purge, and the poller every
        `events_poll_interval_seconds` if enabled."""
        self.worker.start()
        self.housekeeping.start()
        settings = self._settings()
        if settings.polling_enabled and self._poller is None:
            self._poller = PeriodicPoller(
                self.poll_app_account, settings.events_poll_interval_seconds
            )
            self._poller.start()

    def stop(self) -> None:
        """Stop the poller, the purge and the worker, and write the refusals counted so far;
        unprocessed events stay pending for the next start."""
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.housekeeping.stop()
        self.worker.stop()
        self.rejections.flush()

    def wake(self) -> None:
        """Tell the worker new events were committed."""
        self.worker.wake()

    def poll_app_account(self) -> PollResult | None:
        """The periodic catch-up of the account the app reads for its local user; None when
        another process polls it, or polled it less than an interval ago."""
        engine = self._engine()
        settings = self._settings()
        account = app_account(settings, engine)
        result = poll_if_due(engine, account, settings.events_poll_interval_seconds)
        if result is not None and result.stored:
            self.wake()
        return result

    def sync(self, engine: Engine, account: StripeAccount) -> PollResult:
        """Catch up `account` now and wake the worker when something new was stored."""
        result = catch_up_events(engine, account)
        if result.stored:
            self.wake()
        return result


WEBHOOK_RUNTIME = WebhookRuntime()
"""The process's runtime: the route wakes its worker, the app's lifespan starts it."""


def webhook_lifespan(
    runtime: WebhookRuntime = WEBHOOK_RUNTIME,
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """An `st.App(lifespan=...)` that runs `runtime` while the server runs."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield None
        finally:
            await run_in_threadpool(runtime.stop)

    return lifespan
