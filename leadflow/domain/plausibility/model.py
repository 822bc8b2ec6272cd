"""Verdict and reasons: what the plausibility check answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PLAUSIBLE = "plausible"
NEEDS_REVIEW = "needs_review"
IMPLAUSIBLE = "implausible"
VERDICTS = (PLAUSIBLE, NEEDS_REVIEW, IMPLAUSIBLE)

# Severity of one reason; the policy in config/plausibility.yaml maps codes to these.
REJECT = "reject"
REVIEW = "review"
INFO = "info"
SEVERITIES = (REJECT, REVIEW, INFO)


@dataclass(frozen=True)
class Suggestion:
    """A correction a reviewer can apply with one click: `field` from `current` to `suggested`.

    `id` is stable for one verdict (`<reason code>.<field>`), so a reviewer can
    name the suggestions to apply.
    """

    id: str
    field: str
    current: str
    suggested: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "field": self.field, "current": self.current, "suggested": self.suggested}


@dataclass(frozen=True)
class Reason:
    """One finding: a stable `code`, the capture `field` it concerns, a message for people.

    `field` is a capture field name (`email`, `city`, ...) or `name` for
    findings about first and last name together.
    """

    code: str
    field: str
    message: str
    severity: str = REVIEW
    suggestions: tuple[Suggestion, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "field": self.field, "message": self.message,
                               "severity": self.severity}
        if self.suggestions:
            out["suggestions"] = [s.to_dict() for s in self.suggestions]
        return out


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: list[Reason] = field(default_factory=list)
    rules_version: str = ""

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    @property
    def suggestions(self) -> list[Suggestion]:
        return [s for reason in self.reasons for s in reason.suggestions]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "rulesVersion": self.rules_version,
        }
