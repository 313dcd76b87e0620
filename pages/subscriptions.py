"""Subscriptions: active and trialing counts, MRR per currency, churn, and the MRR trend."""

from lib.render.finance import render_subscriptions_page

render_subscriptions_page()
