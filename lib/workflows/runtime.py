"""The workflow runner of this process: started by the app's lifespan beside the webhook
worker, whose reaction to each stored server event starts that event's runs."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from lib.config import Settings, get_settings
from lib.store import get_engine
from lib.webhooks import WEBHOOK_RUNTIME, ServerEvent, WebhookRuntime
from lib.webhooks.background import BackgroundLoop
from lib.workflows.engine import Clock, WorkflowEngine, utc_now
from lib.workflows.loader import load_workflow_folder
from lib.workflows.schema import WorkflowDefinition
from lib.workflows.store import release_all_leases

_log = logging.getLogger(__name__)


class WorkflowDefinitions:
    """The valid definitions of a folder, read again when a file changes."""

    def __init__(self, folder: Callable[[], Path]) -> None:
        self._folder = folder
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._loaded: dict[str, WorkflowDefinition] = {}
        self._lock = threading.Lock()

    def current(self) -> dict[str, WorkflowDefinition]:
        """workflow id -> definition, for every valid file (invalid ones are logged)."""
        folder = self._folder()
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        stamp = tuple((str(file), file.stat().st_mtime_ns) for file in files)
        with self._lock:
            if stamp != self._stamp:
                loaded = load_workflow_folder(folder)
                for result in loaded:
                    if result.error is not None:
                        _log.warning("workflow file ignored: %s", result.error)
                self._loaded = {
                    result.workflow_id: result.definition
                    for result in loaded
                    if result.definition is not None
                }
                self._stamp = stamp
            return dict(self._loaded)


class WorkflowRunner(BackgroundLoop):
    """Starts runs for stored server events (as a webhook worker reaction) and executes due
    runs on a background thread, waking when told and every `idle_seconds`."""

    def __init__(
        self,
        *,
        engine: Callable[[], Engine] = get_engine,
        settings: Callable[[], Settings] = get_settings,
        on_published: Callable[[], None] = lambda: None,
        idle_seconds: float = 1.0,
        lease: timedelta = timedelta(seconds=120),
        clock: Clock = utc_now,
    ) -> None:
        self._wakeup = threading.Event()
        super().__init__("workflow-runner", wakeup=self._wakeup)
        self._engine = engine
        self._settings = settings
        self._on_published = on_published
        self._idle_seconds = idle_seconds
        self._lease = lease
        self._clock = clock
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.definitions = WorkflowDefinitions(lambda: self._settings().workflows_dir)

    def workflow_engine(self, engine: Engine | None = None) -> WorkflowEngine:
        """An engine over the current definitions."""
        return WorkflowEngine(
            engine or self._engine(),
            self.definitions.current(),
            self._settings(),
            owner=self.owner,
            lease=self._lease,
            clock=self._clock,
        )

    def react(self, engine: Engine, event: ServerEvent) -> None:
        """The webhook worker's reaction: start the runs `event` triggers, then wake."""
        started = self.workflow_engine(engine).start_runs(event)
        if started.created:
            self.wake()

    def wake(self) -> None:
        self._wakeup.set()

    def process_due(self) -> int:
        """Execute every due run now; how many runs were worked on."""
        total = 0
        while not self._stopping.is_set():
            workflow_engine = self.workflow_engine()
            worked = workflow_engine.process_due()
            if workflow_engine.published:
                self._on_published()
            total += worked
            if not worked:
                break
        return total

    def start(self) -> None:
        engine = self._engine()
        if engine.dialect.name == "sqlite":
            # One process per SQLite file: a running run can only be left by a process that died.
            release_all_leases(engine)
        super().start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.process_due()
            except Exception as exc:  # storage down: the runs stay due for the next pass
                _log.warning("workflow runner pass failed: %s", type(exc).__name__)
            self._wakeup.wait(self._idle_seconds)
            self._wakeup.clear()


WORKFLOW_RUNNER = WorkflowRunner(on_published=WEBHOOK_RUNTIME.wake)
"""The process's runner: the app's lifespan starts it with the webhook runtime."""


def app_lifespan(
    webhooks: WebhookRuntime = WEBHOOK_RUNTIME, runner: WorkflowRunner = WORKFLOW_RUNNER
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """An `st.App(lifespan=...)` running the webhook runtime and the workflow runner."""
    webhooks.worker.add_reaction("*", runner.react)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        webhooks.start()
        await run_in_threadpool(runner.start)
        try:
            yield None
        finally:
            await run_in_threadpool(runner.stop)
            await run_in_threadpool(webhooks.stop)

    return lifespan
