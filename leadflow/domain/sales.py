"""Sales rules as versioned data (config/sales.yaml): the reason codes a side exit is counted
under, and what a deal may look like. Pure: no I/O.

Reasons people type are free text and may name a person; they stay in the lead's history.
Counters and finance see only a code from this list, or "other"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadflow.domain.controlling import reason_code
from leadflow.domain.lifecycle import SIDE_EXITS, Stage

OTHER = "other"
PIPELINE_STAGES = (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
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
    # the win probability a new opportunity starts with (its owner edits it)
    default_probability: float = Field(0.3, ge=0, le=1)
    # a lead in one of these pipeline stages is stale after this many days without sales activity
    stale_after_days: dict[Stage, int] = Field(default_factory=lambda: {
        Stage.SAL: 7, Stage.SQL: 14, Stage.OPPORTUNITY: 21})

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

    @field_validator("stale_after_days")
    @classmethod
    def _stale(cls, value: dict[Stage, int]) -> dict[Stage, int]:
        for stage, days in value.items():
            if stage not in PIPELINE_STAGES:
                raise ValueError(f"{stage.value} is not a sales pipeline stage; stale_after_days is for "
                                 f"{', '.join(s.value for s in PIPELINE_STAGES)}")
            if not 1 <= days <= 365:
                raise ValueError(f"{stage.value}: stale_after_days must be 1 to 365 days")
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

    def probability_problem(self, probability: float) -> str | None:
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) \
                or not math.isfinite(probability) or not 0 <= probability <= 1:
            return "probability must be between 0 and 1 (0.25 = 25 %)"
        return None

    def is_stale(self, stage: str, last_activity: datetime, now: datetime) -> bool:
        """No sales activity for longer than the stage allows (stages without a limit never are)."""
        days = self.stale_after_days.get(Stage(stage)) if stage in {s.value for s in PIPELINE_STAGES} else None
        return days is not None and now - last_activity > timedelta(days=days)


@dataclass(frozen=True)
class OpenDeal:
    """An open opportunity as the forecast sees it: no personal data."""

    owner_id: str | None
    team_id: str | None
    currency: str
    amount_cents: int
    probability: float
    expected_close: date | None
    stale: bool


@dataclass
class ForecastRow:
    key: str  # rep id, team id or month (YYYY-MM)
    currency: str
    opportunities: int = 0
    pipeline_cents: int = 0
    weighted_cents: int = 0
    stale: int = 0


FORECAST_GROUPS = ("rep", "team", "month")


def forecast(deals: list[OpenDeal], group_by: str, start: date, end: date) -> list[ForecastRow]:
    """Pipeline value and probability-weighted forecast of the deals expected to close in
    start..end, per group and currency (amounts in different currencies are never added up).
    Weighted amounts are rounded per deal, so a row is the sum of what each deal shows."""
    rows: dict[tuple[str, str], ForecastRow] = {}
    for deal in deals:
        if deal.expected_close is None or not start <= deal.expected_close <= end:
            continue
        key = {"rep": deal.owner_id or "(unassigned)", "team": deal.team_id or "(no team)",
               "month": deal.expected_close.strftime("%Y-%m")}[group_by]
        row = rows.setdefault((key, deal.currency), ForecastRow(key, deal.currency))
        row.opportunities += 1
        row.pipeline_cents += deal.amount_cents
        row.weighted_cents += round(deal.amount_cents * deal.probability)
        row.stale += deal.stale
    return [rows[k] for k in sorted(rows)]
