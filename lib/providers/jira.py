"""Jira Cloud REST API adapter (basic auth with an Atlassian account email and API token)."""

from __future__ import annotations

import base64
import re

from lib.providers.base import ProviderAdapter
from lib.providers.types import ConnectionTestResult, ProviderCredentials, RequestOptions

_SITE = re.compile(r"^(?:https://)?(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def jira_site_host(site: str | None) -> str | None:
    """The host of a Jira Cloud site given as `acme.atlassian.net` or `https://acme.atlassian.net/`."""
    match = _SITE.match((site or "").strip())
    return match.group("host").lower() if match else None


class JiraAdapter(ProviderAdapter):
    """Jira Cloud; the API root is the customer's own site."""

    name = "jira"
    label = "Jira"
    default_base_url = "https://{site}"
    credentials_help = (
        "Your Jira Cloud site (for example acme.atlassian.net), the email you sign in with, "
        "and an API token from id.atlassian.com → Security → API tokens."
    )

    def resolve_base_url(self, credentials: ProviderCredentials | None) -> str:
        if self.base_url_override:
            return self.base_url_override
        host = jira_site_host(credentials.site if credentials else None)
        return f"https://{host}" if host else self.default_base_url

    def auth_headers(self, credentials: ProviderCredentials) -> dict[str, str]:
        pair = f"{credentials.email or ''}:{credentials.token()}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    def validate_credentials(self, credentials: ProviderCredentials) -> str | None:
        if not credentials.site:
            return "Enter your Jira site, for example acme.atlassian.net."
        if jira_site_host(credentials.site) is None:
            return (
                "The Jira site should be a web address such as acme.atlassian.net "
                "(https:// is optional)."
            )
        if not credentials.email or not _EMAIL.match(credentials.email):
            return "Enter the email address you use to sign in to Jira."
        if any(char.isspace() for char in credentials.token()):
            return "The Jira API token contains spaces or line breaks. Copy it again without them."
        return None

    def test_connection(self, credentials: ProviderCredentials) -> ConnectionTestResult:
        """Read `/rest/api/3/myself`: account id, display name and email."""
        me = self.request(credentials, RequestOptions(endpoint="/rest/api/3/myself"))
        if not me.success or not isinstance(me.data, dict):
            return self.connection_failure(me.error)
        return ConnectionTestResult(
            success=True,
            account_id=me.data.get("accountId"),
            account_name=me.data.get("displayName"),
            email=me.data.get("emailAddress"),
            details={"site": jira_site_host(credentials.site)},
        )
