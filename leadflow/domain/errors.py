"""Domain errors: each names what went wrong in words a caller can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule of the domain refused the request."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class IllegalTransition(DomainError):
    code = "illegal_transition"


class ConcurrentUpdate(DomainError):
    """The lead changed since it was read (stage or version no longer as expected)."""

    code = "concurrent_update"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class InvalidConfig(DomainError):
    code = "invalid_config"
