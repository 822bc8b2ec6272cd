"""Collects reasons while the checks run; the rules decide each one's severity."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Reason, Suggestion
from .rules import PlausibilityRules


class Findings:
    def __init__(self, rules: PlausibilityRules):
        self.rules = rules
        self.reasons: list[Reason] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, code: str, field: str, message: str,
            suggest: Iterable[tuple[str, str, str]] = ()) -> None:
        """Record a reason once per (code, field): the first message wins. `suggest`:
        (field, current value, suggested value) corrections a reviewer can apply."""
        key = (code, field)
        if key in self._seen:
            return
        self._seen.add(key)
        suggestions = tuple(Suggestion(f"{code}.{target}", target, current, suggested)
                            for target, current, suggested in suggest if suggested != current)
        self.reasons.append(Reason(code, field, message, self.rules.severity_of(code), suggestions))

    def has(self, field: str) -> bool:
        return any(key[1] == field for key in self._seen)

    def has_code(self, code: str, field: str | None = None) -> bool:
        return any(c == code and (field is None or f == field) for c, f in self._seen)
