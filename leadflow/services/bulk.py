"""Bulk actions: one call applies a single-lead use case to each lead of a selection.

Each lead goes through the same use case as one by one (its own transaction, its own history
entry, its own follow-ups in the outbox, so the counters follow as for single actions); a refusal
or an outage for one lead is reported for that lead and the others go on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from leadflow.domain.errors import DomainError, InvalidInput
from leadflow.store import unavailable_errors

# One call stays inside the GraphQL query-cost limit (api/cost.py: 8 requests per lead, 500 at most).
MAX_BULK_LEADS = 50


@dataclass(frozen=True)
class BulkFailure:
    lead_id: str
    code: str  # not_found | not_permitted | invalid_state | invalid_input | unavailable
    rule: str
    message: str
    field: str | None = None


@dataclass
class BulkOutcome:
    succeeded: list[str] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)


def selection(lead_ids: Sequence[str]) -> list[str]:
    """The ids in the order given, each once; refused when empty or larger than one call may be."""
    ids = list(dict.fromkeys(str(i).strip() for i in lead_ids))
    if not ids or not all(ids):
        raise InvalidInput("select at least one lead; ids must not be empty", field="ids")
    if len(ids) > MAX_BULK_LEADS:
        raise InvalidInput(f"at most {MAX_BULK_LEADS} leads per call ({len(ids)} selected); "
                           "split the selection", field="ids")
    return ids


def apply_each(lead_ids: Sequence[str], action: Callable[[str], object]) -> BulkOutcome:
    outcome, unavailable = BulkOutcome(), unavailable_errors()
    for lead_id in selection(lead_ids):
        try:
            action(lead_id)
        except DomainError as exc:
            outcome.failed.append(BulkFailure(lead_id, exc.kind, exc.code, exc.message, exc.field))
        except unavailable:
            # throttled or unreachable: nothing of this lead was written (one transaction); say so
            outcome.failed.append(BulkFailure(lead_id, "unavailable", "temporarily_unavailable",
                                              "could not be stored just now; try this lead again"))
        else:
            outcome.succeeded.append(lead_id)
    return outcome
