"""The lead lifecycle: stages and the one table of allowed transitions.

LEAD -> MQL -> SAL -> SQL -> OPPORTUNITY -> CUSTOMER, with the side exits
DISQUALIFIED, RECYCLED and LOST. Quality (plausible / needs_review /
implausible) and consent are tracked separately from the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from leadflow.domain.errors import IllegalTransition, InvalidInput


class Stage(str, Enum):
    LEAD = "LEAD"
    MQL = "MQL"
    SAL = "SAL"
    SQL = "SQL"
    OPPORTUNITY = "OPPORTUNITY"
    CUSTOMER = "CUSTOMER"
    DISQUALIFIED = "DISQUALIFIED"
    RECYCLED = "RECYCLED"
    LOST = "LOST"


class Quality(str, Enum):
    PENDING = "pending"
    PLAUSIBLE = "plausible"
    NEEDS_REVIEW = "needs_review"
    IMPLAUSIBLE = "implausible"


FUNNEL: tuple[Stage, ...] = (
    Stage.LEAD, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER,
)
SIDE_EXITS: frozenset[Stage] = frozenset({Stage.DISQUALIFIED, Stage.RECYCLED, Stage.LOST})

# The one table of allowed moves. A side exit always needs a reason.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.LEAD: frozenset({Stage.MQL, Stage.DISQUALIFIED}),
    Stage.MQL: frozenset({Stage.SAL, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.SAL: frozenset({Stage.SQL, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.CUSTOMER, Stage.LOST}),
    Stage.CUSTOMER: frozenset(),
    # Recycled leads go back into nurturing and can qualify again; a new request re-opens them.
    Stage.RECYCLED: frozenset({Stage.MQL, Stage.DISQUALIFIED, Stage.LEAD}),
    # A lost opportunity can be recycled into nurturing later, or re-opened by a new request.
    Stage.LOST: frozenset({Stage.RECYCLED, Stage.LEAD}),
    # A disqualified lead is restored by an admin (a wrong verdict) or re-opened by a new request.
    Stage.DISQUALIFIED: frozenset({Stage.LEAD}),
}
# Back to LEAD from a side exit: a new cycle of the same lead (counted as a new entry into LEAD).
REOPENABLE: frozenset[Stage] = frozenset(s for s in SIDE_EXITS if Stage.LEAD in TRANSITIONS[s])

REASON_REQUIRED: frozenset[Stage] = SIDE_EXITS


@dataclass(frozen=True)
class Transition:
    lead_id: str
    from_stage: Stage | None  # None for the capture that creates the lead
    to_stage: Stage
    at: datetime
    actor: str  # user id, or "rule:<name>" / "system:<function>"
    reason: str | None = None


def check_transition(from_stage: Stage, to_stage: Stage, reason: str | None) -> None:
    """Raise IllegalTransition unless from -> to is in the table (and has a reason if it must)."""
    if to_stage not in TRANSITIONS[from_stage]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[from_stage])) or "none (final stage)"
        raise IllegalTransition(
            f"a lead in stage {from_stage.value} cannot move to {to_stage.value}; allowed: {allowed}",
            field="stage",
        )
    if to_stage in REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInput(f"moving a lead to {to_stage.value} needs a reason", field="reason")
