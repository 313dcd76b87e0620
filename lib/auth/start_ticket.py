"""Short-lived signed links that let the OAuth start route know which admin clicked.

`GET /api/auth/stripe` is a plain Starlette route: it runs outside any Streamlit session, so it
cannot read `st.user`. Streamlit 1.67 keeps the signed-in user in its own signed cookie
(`_streamlit_user`), but reading it needs Streamlit's private cookie helpers and its origin
check, which are not a supported API and may change in any release. Instead the Credentials
page, where the admin is known, puts a ticket into the "Connect with Stripe" link: the admin's
address signed with a key derived from `[auth] cookie_secret` (itsdangerous, salted for this
one purpose), valid for 10 minutes. The route checks the signature and age, then the address's
role under the current settings, and binds the OAuth state to that address.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import SecretStr

TICKET_PARAM = "ticket"
TICKET_TTL_SECONDS = 600
MAX_TICKET_LENGTH = 1024
_SALT = "stripe-dashboard:stripe-connect-start"


def issue_ticket(cookie_secret: SecretStr, email: str) -> str:
    """A ticket naming `email`, for the start route's `ticket` query parameter."""
    return _serializer(cookie_secret).dumps({"email": email})


def read_ticket(
    cookie_secret: SecretStr, ticket: str | None, max_age: int = TICKET_TTL_SECONDS
) -> str | None:
    """The e-mail a valid, unexpired ticket names; None for anything else (missing, too long,
    forged, expired, malformed)."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return None
    try:
        payload = _serializer(cookie_secret).loads(ticket, max_age=max_age)
    except BadData:
        return None
    email = payload.get("email") if isinstance(payload, dict) else None
    return email if isinstance(email, str) else None


def _serializer(cookie_secret: SecretStr) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cookie_secret.get_secret_value(), salt=_SALT)
