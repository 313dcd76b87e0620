"""A workflow runner process for multi-process tests and the bench: the app's webhook worker
and workflow runner on DATABASE_URL, working until nothing was due for `idle` seconds.

    python -m tests.workflow_runner_process [idle seconds]
"""

from __future__ import annotations

import sys
import time

from lib.store import get_engine
from lib.webhooks import WebhookWorker
from lib.workflows.runtime import WorkflowRunner


def work_until_idle(idle: float) -> int:
    """Process stored events and due runs until none came for `idle` seconds; runs worked."""
    runner = WorkflowRunner()
    worker = WebhookWorker(get_engine, reactions=[("*", runner.react)], batch_size=50)
    worked = 0
    last_work = time.monotonic()
    while time.monotonic() - last_work < idle:
        done = worker.process_pending() + runner.process_due()
        if done:
            worked += done
            last_work = time.monotonic()
        else:
            time.sleep(0.05)
    return worked


if __name__ == "__main__":
    print(work_until_idle(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
