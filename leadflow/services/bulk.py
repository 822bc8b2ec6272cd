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


def searched_selection(principal, query: str | None, search_filter) -> list[str]:
    """The ids of the leads a search finds in the caller's scope (services.search), all of them:
    more than one call may change is refused rather than acting on a part."""
    from leadflow.services.search import search_leads

    answer = search_leads(principal, query, search_filter, first=MAX_BULK_LEADS)
    if answer.end_cursor is not None or not answer.complete:
        raise InvalidInput(f"the search selects more than {MAX_BULK_LEADS} leads; narrow it (more words, a stage, "
                           "an owner) or act in steps", field="query")
    if not answer.leads:
        raise InvalidInput("the search finds no lead you may act on", field="query")
    return [lead.lead_id for lead in answer.leads]


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
