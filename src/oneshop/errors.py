"""The one error tree connectors raise and the core handles.

    OneshopError
    ├── RetryableError          5xx, timeouts, dropped connections: try again later
    │   └── RateLimited         429 / throttled; carries retry_after_s
    ├── AuthError               revoked or expired credentials: pause the account
    ├── InvalidRecord           one record cannot be mapped: keep it as a rejected record
    └── ConfigError             the config file is wrong (names file, key, problem)

Anything else is a bug: it is logged with its traceback once and the next tick resumes
from the saved cursor (oneshop.coordinator). A compare-and-set write the channel refused
is no error: the connector reports it as a `stale` PushResult (oneshop.values).
"""

from __future__ import annotations


class OneshopError(Exception):
    """Base of every error the core expects."""


class RetryableError(OneshopError):
    """A transient failure; the same call may succeed later."""


class RateLimited(RetryableError):
    """The marketplace asked us to slow down."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthError(OneshopError):
    """Credentials were refused; retrying will not help until a person acts."""


class InvalidRecord(OneshopError):
    """A marketplace record that cannot be mapped to our values."""

    def __init__(self, reason: str, *, raw: object = None, external_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.external_id = external_id


class ConfigError(OneshopError):
    """The configuration is unusable; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
