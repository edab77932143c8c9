"""Who may read the status page: anyone on this machine when it listens on loopback;
anyone else only with HTTP basic auth (`[status_page] basic_auth`), since the page shows
stock, order ids and alerts that a seller would not publish."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost. Any other name counts as not
    loopback: it may resolve anywhere, and no DNS is asked at config time."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credential_problem(value: str) -> str | None:
    """What is wrong with a basic-auth credential value (never echoing it)."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        return "the credential must hold USER:PASSWORD (both non-empty)"
    return None


def authorized(header: str | None, credential: str) -> bool:
    """Whether an `Authorization: Basic …` header carries exactly `credential`
    ("user:password"), compared in constant time."""
    if not header:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, credential.encode())
