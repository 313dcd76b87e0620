"""Webhooks: the endpoint for Stripe, received and refused deliveries, Events API catch-up."""

from lib.render.gate import require_viewer
from lib.render.webhooks import render_webhooks_page

require_viewer()
render_webhooks_page()
