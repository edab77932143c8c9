"""What stands before Etsy's API: the x-api-key check, OAuth tokens, and rate limits."""

from __future__ import annotations

import base64
import collections
import hashlib
import random
from dataclasses import dataclass, field

ACCESS_TOKEN_TTL_S = 3600
AUTH_CODE_TTL_S = 300
DAY_S = 86_400


class GateRefused(Exception):
    """The request is refused with this status and Etsy-shaped error body."""

    def __init__(self, status: int, error: str, description: str | None = None,
                 retry_after_s: int | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description
        self.retry_after_s = retry_after_s


def check_api_key(header: str | None, keystring: str, shared_secret: str) -> None:
    """Etsy requires `x-api-key: keystring:shared_secret` since 2026-02-09."""
    if not header:
        raise GateRefused(403, "Shared secret is required in x-api-key header.")
    key, sep, secret = header.partition(":")
    if not sep or not key or not secret:
        raise GateRefused(
            403, "Invalid API key: should be in the format 'keystring:shared_secret'")
    if key != keystring or secret != shared_secret:
        raise GateRefused(403, "Invalid API key")


@dataclass
class Grant:
    expires_ts: int
    scopes: frozenset[str]


@dataclass
class AuthCode:
    challenge: str
    redirect_uri: str
    scopes: frozenset[str]
    expires_ts: int


@dataclass
class TokenBook:
    """Access tokens live an hour; a refresh token works once (rotation); revoke kills all."""

    user_id: int
    rng: random.Random
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, frozenset[str]] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)

    def _secret(self, n: int = 24) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def issue(self, now_ts: int, scopes: frozenset[str]) -> tuple[str, str, int]:
        access = f"{self.user_id}.{self._secret()}"
        refresh = f"{self.user_id}.{self._secret()}"
        self.access[access] = Grant(now_ts + ACCESS_TOKEN_TTL_S, scopes)
        self.refresh[refresh] = scopes
        return access, refresh, ACCESS_TOKEN_TTL_S

    def authorize(self, now_ts: int, challenge: str, redirect_uri: str,
                  scopes: frozenset[str]) -> str:
        code = self._secret(32)
        self.codes[code] = AuthCode(challenge, redirect_uri, scopes, now_ts + AUTH_CODE_TTL_S)
        return code

    def exchange(self, now_ts: int, code: str, verifier: str,
                 redirect_uri: str) -> tuple[str, str, int]:
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_ts < now_ts:
            raise GateRefused(400, "invalid_grant", "code is invalid or expired")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            raise GateRefused(400, "invalid_grant", "code_verifier is invalid")
        if redirect_uri != grant.redirect_uri:
            raise GateRefused(400, "invalid_grant", "redirect_uri does not match")
        return self.issue(now_ts, grant.scopes)

    def rotate(self, now_ts: int, refresh_token: str) -> tuple[str, str, int]:
        scopes = self.refresh.pop(refresh_token, None)
        if scopes is None:
            raise GateRefused(400, "invalid_grant", "refresh_token is revoked")
        return self.issue(now_ts, scopes)

    def revoke(self) -> None:
        """What a password change does on Etsy: every token of the user dies."""
        self.access.clear()
        self.refresh.clear()

    def expire_access(self) -> None:
        for grant in self.access.values():
            grant.expires_ts = 0

    def check(self, header: str | None, now_ts: int, scope: str) -> None:
        token = (header or "").removeprefix("Bearer ").strip()
        grant = self.access.get(token)
        if grant is None:
            raise GateRefused(401, "invalid_token", "access token is invalid")
        if grant.expires_ts <= now_ts:
            raise GateRefused(401, "invalid_token", "access token is expired")
        if scope not in grant.scopes:
            raise GateRefused(403, "insufficient_scope", f"requires {scope}")


@dataclass
class RateLimiter:
    """Per-second and sliding 24-hour budgets per API key, with Etsy's headers."""

    per_second: int = 10
    per_day: int = 10_000
    misspelt_header: bool = False  # Etsy's doc table spells it x-remaining-this-secon
    _second: collections.deque[float] = field(default_factory=collections.deque)
    _day: collections.deque[float] = field(default_factory=collections.deque)

    def admit(self, now: float) -> dict[str, str]:
        while self._second and self._second[0] <= now - 1:
            self._second.popleft()
        while self._day and self._day[0] <= now - DAY_S:
            self._day.popleft()
        # QPS is checked before QPD; a 429 carries retry-after and no rate headers.
        if len(self._second) >= self.per_second:
            raise GateRefused(429, "Too many requests per second", retry_after_s=1)
        if len(self._day) >= self.per_day:
            wait = int(self._day[0] + DAY_S - now) + 1
            raise GateRefused(429, "Daily request limit reached", retry_after_s=wait)
        self._second.append(now)
        self._day.append(now)
        remaining_name = "x-remaining-this-secon" if self.misspelt_header else (
            "x-remaining-this-second")
        return {
            "x-limit-per-second": str(self.per_second),
            remaining_name: str(self.per_second - len(self._second)),
            "x-limit-per-day": str(self.per_day),
            "x-remaining-today": str(self.per_day - len(self._day)),
        }
