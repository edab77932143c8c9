"""The one error tree connectors raise and the core handles.

    OneshopError
    ├── RetryableError          5xx, timeouts, dropped connections: try again later
    │   └── RateLimited         429 / throttled; carries retry_after_s
    ├── AuthError               revoked or expired credentials: pause the account
    ├── InvalidRecord           one record cannot be mapped: keep it as a rejected record
    ├── StaleQuantity           compare-and-set lost: the channel changed under us
    └── ConfigError             the config file is wrong (names file, key, problem)

Anything else is a bug: it is logged with its traceback once and the next tick resumes
from the saved cursor.
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


class StaleQuantity(OneshopError):
    """A compare-and-set write found a different quantity than we last observed."""

    def __init__(self, external_id: str, *, actual: int | None = None) -> None:
        super().__init__(f"quantity of {external_id} changed on the channel")
        self.external_id = external_id
        self.actual = actual


class ConfigError(OneshopError):
    """The configuration is unusable; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
