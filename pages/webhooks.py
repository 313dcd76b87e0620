"""Webhooks: the endpoint for Stripe, received and refused deliveries, Events API catch-up."""

from lib.render.webhooks import render_webhooks_page

render_webhooks_page()
