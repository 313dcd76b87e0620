"""The local mirror of each Stripe account: sync engine, event updates, background jobs."""

from lib.sync.events import EventsApplied, apply_event, apply_stored_events
from lib.sync.jobs import (
    SyncJob,
    SyncJobs,
    SyncPosition,
    sync_jobs,
    sync_lock,
    sync_position,
    sync_running_elsewhere,
)
from lib.sync.mirror import ENDPOINTS, SYNC_ORDER, SyncProgress, SyncReport, sync_mirror
from lib.sync.state import ResourceState, read_states
from lib.sync.store import Resource, write_objects

__all__ = [
    "ENDPOINTS",
    "SYNC_ORDER",
    "EventsApplied",
    "Resource",
    "ResourceState",
    "SyncJob",
    "SyncJobs",
    "SyncPosition",
    "SyncProgress",
    "SyncReport",
    "apply_event",
    "apply_stored_events",
    "read_states",
    "sync_jobs",
    "sync_lock",
    "sync_mirror",
    "sync_position",
    "sync_running_elsewhere",
    "write_objects",
]
