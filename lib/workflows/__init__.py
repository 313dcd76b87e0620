"""Event-driven automations: `workflows/*.json` definitions, durable runs with recorded steps,
and the provider actions they take (Jira, Slack, Twilio, Stripe)."""
