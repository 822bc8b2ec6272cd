"""Sales rules as versioned data (config/sales.yaml): the reason codes a side exit is counted
under, and what a deal may look like. Pure: no I/O.

Reasons people type are free text and may name a person; they stay in the lead's history.
Counters and finance see only a code from this list, or "other"."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadflow.domain.controlling import reason_code
from leadflow.domain.lifecycle import SIDE_EXITS, Stage

OTHER = "other"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SalesRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    # side exit (RECYCLED, DISQUALIFIED, LOST) -> code -> label for people
    reason_codes: dict[Stage, dict[str, str]] = Field(default_factory=dict)
    # a deal amount in currency units: more than 0 and at most this
    max_deal_amount: float = Field(10_000_000, gt=0, le=10 ** 12)
    # an expected close date: from today up to this many days ahead
    max_close_days: int = Field(1830, ge=1, le=36500)

    @field_validator("reason_codes")
    @classmethod
    def _codes(cls, value: dict[Stage, dict[str, str]]) -> dict[Stage, dict[str, str]]:
        for stage, codes in value.items():
            if stage not in SIDE_EXITS:
                raise ValueError(f"{stage.value} is not a side exit; reason codes are for "
                                 f"{', '.join(sorted(s.value for s in SIDE_EXITS))}")
            for code in codes:
                if not _CODE.match(code):
                    raise ValueError(f"{stage.value}: code {code!r} must be lower-case letters, digits and _ "
                                     "(at most 40), starting with a letter")
                if code == OTHER:
                    raise ValueError(f"{stage.value}: 'other' is always there; do not list it")
        return value

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> SalesRules:
        return cls.model_validate(document)

    def codes(self, stage: Stage) -> tuple[str, ...]:
        """The codes a side exit may be counted under, "other" last."""
        return (*self.reason_codes.get(stage, {}), OTHER)

    def code_for(self, stage: Stage, reason: str | None, code: str | None = None) -> str:
        """The code a side exit counts under. An explicit `code` must be listed (ValueError);
        otherwise the code of the reason's text ("no_budget: next year" -> no_budget) if listed,
        else "other": free text never becomes a code of its own."""
        if code is not None:
            code = code.strip().lower()
            if code not in self.codes(stage):
                raise ValueError(f"reasonCode must be one of {', '.join(self.codes(stage))} for {stage.value}; "
                                 f"got {code!r}")
            return code
        derived = reason_code(reason)
        return derived if derived in self.reason_codes.get(stage, {}) else OTHER

    def deal_amount_problem(self, amount: float) -> str | None:
        """Why `amount` (currency units) is no sane deal amount, or None."""
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) \
                or amount <= 0 or amount > self.max_deal_amount:
            return f"amount must be more than 0 and at most {self.max_deal_amount:,.0f}"
        if round(amount * 100) <= 0:
            return "amount must be at least 0.01"
        return None

    def close_date_problem(self, expected_close: date, today: date) -> str | None:
        """Why an expected close date is not plausible, or None."""
        if expected_close < today:
            return f"expectedClose {expected_close.isoformat()} lies in the past (today is {today.isoformat()})"
        latest = today + timedelta(days=self.max_close_days)
        if expected_close > latest:
            return f"expectedClose must be on or before {latest.isoformat()} ({self.max_close_days} days ahead)"
        return None
