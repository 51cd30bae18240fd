"""Remote endpoints: TLS everywhere except on the loopback interface, which tests use.

A plain-text endpoint would carry API keys, auth codes, client secrets and passwords in the
clear; loopback traffic never leaves the host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url(value: str, what: str) -> str:
    """``value`` if it is an https URL with a host, or http on loopback; ValueError otherwise."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a port that is no number)
    except ValueError:
        host, parts = "", urlsplit("")
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(
            f"{what} must be a URL such as https://host/; this one has no https:// host"
        )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ValueError(
            f"{what} must use https:// (plain http:// would send credentials in the clear); "
            "http:// is accepted only for loopback addresses such as 127.0.0.1"
        )
    return value
