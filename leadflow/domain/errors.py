"""Domain errors: each names what went wrong in words a caller can act on.

Four kinds a caller must tell apart (GraphQL `extensions.code`, HTTP status in functions/common.py):
not found (`NotFound`), not permitted (`Forbidden`, naming the rule), invalid state
(`IllegalTransition`, `ConcurrentUpdate`, `Conflict`) and invalid input naming the field
(`InvalidInput`, `InvalidConfig`). `kind` groups the finer codes into these four."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule of the domain refused the request."""

    code = "domain_error"
    kind = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """An argument breaks a rule; `field` names it."""

    code = "invalid_input"


class IllegalTransition(DomainError):
    """The lead (or task) is in a state that does not allow this action."""

    code = "illegal_transition"
    kind = "invalid_state"


class ConcurrentUpdate(DomainError):
    """The lead changed since it was read (stage or version no longer as expected)."""

    code = "concurrent_update"
    kind = "invalid_state"


class NotFound(DomainError):
    code = "not_found"
    kind = "not_found"


class Forbidden(DomainError):
    """The caller may not do this; the message names the rule (who may)."""

    code = "forbidden"
    kind = "not_permitted"


class Conflict(DomainError):
    code = "conflict"
    kind = "invalid_state"


class InvalidConfig(DomainError):
    code = "invalid_config"


def no_such_lead(lead_id: str) -> NotFound:
    """The one answer for an unknown lead id (and, for a rep, for another rep's lead)."""
    return NotFound(f"no such lead: {lead_id}", field="id")
