"""The token: with one, every request needs it, as `Authorization: Bearer TOKEN` or as the
cookie `/login` sets (a keyed hash of the token, never the token itself)."""

from __future__ import annotations

import hashlib
import hmac

COOKIE = "connector_ga_session"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def session_value(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"connector-ga dashboard", hashlib.sha256).hexdigest()


def authorized(token: str, authorization: str | None, cookie: str | None) -> bool:
    """Whether a request carries the token (compared in constant time)."""
    if authorization:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8"), token.encode("utf-8")
        ):
            return True
    if cookie:
        return hmac.compare_digest(cookie.encode("utf-8"), session_value(token).encode("utf-8"))
    return False
