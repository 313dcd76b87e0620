"""Subscriptions: active and trialing counts, MRR per currency, churn, and the MRR trend."""

from lib.render.finance import render_subscriptions_page
from lib.render.gate import require_viewer

require_viewer()
render_subscriptions_page()
