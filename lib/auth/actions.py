"""The admin actions: every one is checked by `lib.auth.guard` and written to the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class AdminAction(StrEnum):
    """What an admin may do; the value is what the audit log stores."""

    CONNECT_KEY = "credentials.connect_key"
    CONNECT_START = "credentials.connect_start"
    CONNECT_FINISH = "credentials.connect_finish"
    TEST_CONNECTION = "credentials.test"
    DISCONNECT = "credentials.disconnect"
    SYNC_START = "mirror.sync"
    SYNC_CANCEL = "mirror.cancel"
    EVENTS_SYNC = "events.sync"
    EVENT_REPLAY = "events.replay"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    WORKFLOW_SWITCH = "workflows.switch"
    WORKFLOW_RETRY = "workflows.retry"
    WORKFLOW_CANCEL = "workflows.cancel"
    WORKFLOW_TEST_EVENT = "workflows.test_event"
    SIGN_IN = "sign_in"
    """Not an admin action: a signed-in identity the allow-list refuses is recorded under it."""


ACTION_LABELS: Mapping[AdminAction, str] = {
    AdminAction.CONNECT_KEY: "Connect with a key",
    AdminAction.CONNECT_START: "Start Connect with Stripe",
    AdminAction.CONNECT_FINISH: "Finish Connect with Stripe",
    AdminAction.TEST_CONNECTION: "Test a connection",
    AdminAction.DISCONNECT: "Disconnect",
    AdminAction.SYNC_START: "Sync the local copy",
    AdminAction.SYNC_CANCEL: "Cancel a sync",
    AdminAction.EVENTS_SYNC: "Catch up from the Events API",
    AdminAction.EVENT_REPLAY: "Replay a stored event",
    AdminAction.AUDIT_VIEW: "Open the audit log",
    AdminAction.AUDIT_EXPORT: "Export the audit log",
    AdminAction.WORKFLOW_SWITCH: "Turn a workflow's real sends on or off",
    AdminAction.WORKFLOW_RETRY: "Retry a workflow run",
    AdminAction.WORKFLOW_CANCEL: "Cancel a workflow run",
    AdminAction.WORKFLOW_TEST_EVENT: "Send a test event",
    AdminAction.SIGN_IN: "Sign in",
}
