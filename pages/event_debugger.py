"""Event Debugger: this session's event timeline, replay, safe mode and subscriptions."""

from lib.render.debugger import render_event_debugger_page

render_event_debugger_page()
