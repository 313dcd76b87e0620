"""Local mode (no sign-in configured): who may change things is decided by where they are.

Without sign-in nobody has a name, so admin actions are allowed only to a browser on the
computer the app runs on (a loopback client), unless ALLOW_REMOTE_ADMIN=true. Anyone else who
can open the URL sees the data read-only.

A reverse proxy on the same computer makes every visitor look like loopback. uvicorn replaces
the peer address with X-Forwarded-For when the proxy is trusted (FORWARDED_ALLOW_IPS, by default
this computer); a proxy that sends only `X-Real-IP` or `Forwarded` is caught here instead: a
request that names a non-loopback client in any of those headers is not local.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")
_FORWARDED_FOR = re.compile(r'for\s*=\s*"?([^;,"]*)"?', re.IGNORECASE)
_MAX_HEADER = 4096


def is_loopback_address(address: str | None) -> bool:
    """Whether `address` (an IP, optionally `[v6]:port` or `v4:port`) is a loopback address;
    anything unreadable is not."""
    if not address:
        return False
    host = address.strip()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback


def forwarded_clients(headers: Iterable[tuple[str, str]]) -> list[str]:
    """Every client address that proxy headers (X-Forwarded-For, X-Real-IP, Forwarded) name."""
    found: list[str] = []
    for name, raw in headers:
        lowered = name.lower()
        if lowered not in PROXY_HEADERS:
            continue
        # An over-long header is not read: its unread part could hide a remote client.
        value = raw if len(raw) <= _MAX_HEADER else "unreadable"
        if lowered == "forwarded":
            found += [match.strip() for match in _FORWARDED_FOR.findall(value)] or ["unknown"]
        else:
            found += [part.strip() for part in value.split(",")]
    return found


def is_local_client(peer: str | None, headers: Iterable[tuple[str, str]] = ()) -> bool:
    """Whether a request comes from this computer: its peer is loopback and no proxy header
    names another client."""
    if not is_loopback_address(peer):
        return False
    return all(is_loopback_address(client) for client in forwarded_clients(headers))
