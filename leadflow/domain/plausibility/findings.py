"""Collects reasons while the checks run; the rules decide each one's severity."""

from __future__ import annotations

from .model import Reason
from .rules import PlausibilityRules


class Findings:
    def __init__(self, rules: PlausibilityRules):
        self.rules = rules
        self.reasons: list[Reason] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, code: str, field: str, message: str) -> None:
        """Record a reason once per (code, field): the first message wins."""
        key = (code, field)
        if key in self._seen:
            return
        self._seen.add(key)
        self.reasons.append(Reason(code, field, message, self.rules.severity_of(code)))

    def has(self, field: str) -> bool:
        return any(key[1] == field for key in self._seen)

    def has_code(self, code: str, field: str | None = None) -> bool:
        return any(c == code and (field is None or f == field) for c, f in self._seen)
