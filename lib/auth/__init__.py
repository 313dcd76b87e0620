"""Sign-in, roles and the audit log, without Streamlit: who may use the app, who may change it,
and the record of every admin action and refused attempt."""

from lib.auth.actions import ACTION_LABELS, AdminAction
from lib.auth.actor import (
    LOCAL_VISITOR,
    REMOTE_VISITOR,
    Actor,
    anonymous_actor,
    local_actor,
    signed_in_actor,
)
from lib.auth.audit import AuditEntry, AuditFilters, AuditLog, AuditResult
from lib.auth.guard import authorize, record_outcome, refusal_message
from lib.auth.local_mode import is_local_client, is_loopback_address
from lib.auth.roles import REFUSAL_WORDS, Admission, Refusal, Role, admit, role_of
from lib.auth.sign_in import SignInSettings, provider_button_label, sign_in_settings
from lib.auth.start_ticket import TICKET_PARAM, issue_ticket, read_ticket
from lib.auth.workspace import WORKSPACE_USER_ID

__all__ = [
    "ACTION_LABELS",
    "LOCAL_VISITOR",
    "REFUSAL_WORDS",
    "REMOTE_VISITOR",
    "TICKET_PARAM",
    "WORKSPACE_USER_ID",
    "Actor",
    "AdminAction",
    "Admission",
    "AuditEntry",
    "AuditFilters",
    "AuditLog",
    "AuditResult",
    "Refusal",
    "Role",
    "SignInSettings",
    "admit",
    "anonymous_actor",
    "authorize",
    "is_local_client",
    "is_loopback_address",
    "issue_ticket",
    "local_actor",
    "provider_button_label",
    "read_ticket",
    "record_outcome",
    "refusal_message",
    "role_of",
    "sign_in_settings",
    "signed_in_actor",
]
