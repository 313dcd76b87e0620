"""Event Debugger: this session's event timeline, replay, safe mode and subscriptions."""

from lib.render.debugger import render_event_debugger_page
from lib.render.gate import require_viewer

require_viewer()
render_event_debugger_page()
