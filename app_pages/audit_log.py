"""Audit log (admins): every admin action and refused attempt, filtered, exported as CSV."""

from lib.render.audit_log import render_audit_log_page
from lib.render.gate import require_viewer

require_viewer()
render_audit_log_page()
