"""Who may use the app once signed in, and with which role.

Everyone the allow-list admits is a viewer; the addresses in ADMIN_EMAILS are admins (and are
admitted even when the allow-list does not name them). With no allow-list at all, only admins
get in: an identity provider such as Google signs in anyone on the internet, so an empty list
must not mean "everyone".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from lib.config import Settings

MAX_EMAIL_LENGTH = 254
# One "@", something on both sides, no whitespace or control characters (RFC 5321 is wider,
# but identity providers issue plain addresses and anything odd is refused, not guessed at).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")


class Role(StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


class Refusal(StrEnum):
    """Why a signed-in identity is not let in."""

    NO_EMAIL = "no_email"
    EMAIL_UNVERIFIED = "email_unverified"
    NOT_ALLOWED = "not_allowed"


REFUSAL_WORDS: Mapping[Refusal, str] = {
    Refusal.NO_EMAIL: "Your sign-in did not include a readable e-mail address, so this "
    "dashboard cannot tell whether you may use it.",
    Refusal.EMAIL_UNVERIFIED: "Your identity provider says your e-mail address is not "
    "verified, so this dashboard cannot let you in with it.",
    Refusal.NOT_ALLOWED: "Your account is not allowed to use this dashboard.",
}


@dataclass(frozen=True)
class Admission:
    """The outcome of checking a signed-in identity: a role, or a refusal. `email` is the
    address as checked (lower-case), when the identity had a readable one."""

    email: str | None
    role: Role | None = None
    refusal: Refusal | None = None


def normalized_email(value: object) -> str | None:
    """`value` as a lower-case e-mail address, or None when it is not a plausible one."""
    if not isinstance(value, str) or len(value) > MAX_EMAIL_LENGTH:
        return None
    email = value.strip().lower()
    return email if _EMAIL.fullmatch(email) else None


def admit(claims: Mapping[str, object], settings: Settings) -> Admission:
    """Check a signed-in user's identity claims (`st.user`) against the settings.

    Needs a readable `email`; when the provider sends `email_verified`, it must be true (a
    boolean, or the string "true" that some providers send). Then the address must be in
    ADMIN_EMAILS or ALLOWED_EMAILS, or its domain (exactly, no subdomains) in
    ALLOWED_EMAIL_DOMAINS.
    """
    email = normalized_email(claims.get("email"))
    if email is None:
        return Admission(None, refusal=Refusal.NO_EMAIL)
    if "email_verified" in claims and not _is_true(claims["email_verified"]):
        return Admission(email, refusal=Refusal.EMAIL_UNVERIFIED)
    role = role_of(email, settings)
    if role is None:
        return Admission(email, refusal=Refusal.NOT_ALLOWED)
    return Admission(email, role=role)


def role_of(email: str, settings: Settings) -> Role | None:
    """The role of the (normalized) address `email`, or None when it may not sign in."""
    if email in settings.admin_emails:
        return Role.ADMIN
    domain = email.rsplit("@", 1)[1]
    if email in settings.allowed_emails or domain in settings.allowed_email_domains:
        return Role.VIEWER
    return None


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
