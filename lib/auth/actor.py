"""Who is acting: a signed-in user with a role, or a visitor in local mode judged by address."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lib.auth.local_mode import is_local_client
from lib.auth.roles import Admission, Role
from lib.config import Settings

ActorKind = Literal["user", "anonymous", "local"]
"""A signed-in user, nobody signed in (sign-in configured), or a visitor in local mode."""
ACTOR_KINDS: tuple[ActorKind, ...] = ("user", "anonymous", "local")
LOCAL_VISITOR = "local visitor"
REMOTE_VISITOR = "remote visitor"
NOT_SIGNED_IN = "not signed in"
MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class Actor:
    """The person behind a request, as far as the app can tell.

    `name` is the signed-in e-mail, "not signed in", or in local mode "local visitor" /
    "remote visitor"; `role` is None when they may not use the app at all; `address` is the
    client address as the server saw it (None when unknown).
    """

    name: str
    role: Role | None
    kind: ActorKind
    address: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def signed_in_actor(admission: Admission, address: str | None) -> Actor:
    """The actor for a signed-in identity checked by `roles.admit`."""
    return Actor(
        name=admission.email or "signed-in user without an e-mail address",
        role=admission.role,
        kind="user",
        address=bounded_address(address),
    )


def anonymous_actor(address: str | None, name: str = NOT_SIGNED_IN) -> Actor:
    """Nobody signed in while sign-in is configured: no role at all."""
    return Actor(name=name, role=None, kind="anonymous", address=bounded_address(address))


def local_actor(peer: str | None, headers: Iterable[tuple[str, str]], settings: Settings) -> Actor:
    """The actor in local mode: an admin on this computer (or anywhere with
    ALLOW_REMOTE_ADMIN=true), else a read-only viewer."""
    local = is_local_client(peer, headers)
    admin = local or settings.allow_remote_admin
    return Actor(
        name=LOCAL_VISITOR if local else REMOTE_VISITOR,
        role=Role.ADMIN if admin else Role.VIEWER,
        kind="local",
        address=bounded_address(peer),
    )


def bounded_address(address: str | None) -> str | None:
    """A client address as stored and shown: at most 64 characters (an IPv6 address is 45)."""
    if not address:
        return None
    return address[:MAX_ADDRESS_LENGTH]
