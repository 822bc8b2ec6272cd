"""GraphQL: searchLeads (find a lead by what a person types, filter, sort, page)."""

from datetime import date
from enum import Enum

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.api.types import Lead, PageInfo
from leadflow.domain.access import ALL_ROLES
from leadflow.domain.lifecycle import Quality, Stage
from leadflow.domain.search import SortBy

SEARCHERS = roles(*ALL_ROLES)


@strawberry.enum(description="What searchLeads sorts by.")
class LeadSortField(Enum):
    SCORE = "score"
    CREATED = "created"
    SLA_DEADLINE = "sla_deadline"
    LAST_ACTIVITY = "last_activity"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


# Without a direction each field sorts the way a person reads it first: the highest score, the newest,
# the nearest SLA deadline, the latest activity.
NATURAL_DESCENDING = {LeadSortField.SCORE: True, LeadSortField.CREATED: True, LeadSortField.SLA_DEADLINE: False,
                      LeadSortField.LAST_ACTIVITY: True}


@strawberry.input(description="How searchLeads orders its answer; leads without the value (no score, no SLA "
                              "deadline) come last, ties by id.")
class LeadSort:
    by: LeadSortField = LeadSortField.CREATED
    direction: SortDirection | None = strawberry.field(
        default=None, description="Default: DESC for score, created and lastActivity, ASC for slaDeadline.")


@strawberry.input(description="Each filter given narrows the answer (AND); the values of one filter are "
                              "alternatives (OR). Dates are whole days in the company's time zone, both included.")
class LeadSearchFilter:
    stages: list[Stage] | None = None
    owners: list[str] | None = strawberry.field(default=None, description="Rep ids (see the team query).")
    grades: list[str] | None = strawberry.field(default=None, description="hot | normal | cold")
    qualities: list[Quality] | None = None
    sources: list[str] | None = None
    campaigns: list[str] | None = None
    countries: list[str] | None = strawberry.field(default=None, description="ISO 3166 codes, e.g. DE")
    created_from: date | None = None
    created_to: date | None = None
    stage_entered_from: date | None = None
    stage_entered_to: date | None = None


@strawberry.type(description="One lead found. Finance gets the id and the company only (node is null).")
class LeadSearchEdge:
    cursor: str
    id: strawberry.ID
    company: str | None
    node: Lead | None


@strawberry.type(description="A page of leads found.")
class LeadSearchResult:
    edges: list[LeadSearchEdge]
    page_info: PageInfo
    total: int = strawberry.field(description="How many leads match (of those looked at, when not complete).")
    complete: bool = strawberry.field(description=(
        "False: more than 500 leads matched the most selective part of the search, and only 500 were looked "
        "at; notice says what to narrow."))
    notice: str | None


def search_filter_of(given: LeadSearchFilter | None):
    """The service's filter from the GraphQL input (searchLeads, and bulk actions on a search)."""
    from leadflow.services import search as search_service

    given = given or LeadSearchFilter()
    return search_service.make_filter(
        stages=[s.value for s in given.stages or ()], owners=given.owners, grades=given.grades,
        qualities=[q.value for q in given.qualities or ()], sources=given.sources, campaigns=given.campaigns,
        countries=given.countries, created_from=given.created_from, created_to=given.created_to,
        stage_entered_from=given.stage_entered_from, stage_entered_to=given.stage_entered_to)


@strawberry.type
class SearchQuery:
    @strawberry.field(permission_classes=[SEARCHERS], description=(
        "Find leads by name, email, company, phone or postal code: every word must match (3+ characters: "
        "as a prefix; 1-2 characters: a whole word), case and accents ignored (Müller = Mueller = muller). "
        "Filtered, sorted, paged (first <= 100, after = endCursor). A rep finds their own leads, a manager "
        "their teams', marketing and admins all; finance finds leads by company name and gets ids and "
        "company names only. Without a query, filter.owners or filter.stages is needed (a rep: their own "
        "leads). Bounded: at most 500 candidates are looked at (see complete and notice)."))
    def search_leads(self, info: strawberry.Info, query: str | None = None, filter: LeadSearchFilter | None = None,
                     sort: LeadSort | None = None, first: int = 20, after: str | None = None) -> LeadSearchResult:
        from leadflow.services import search as search_service

        search_filter = search_filter_of(filter)
        sort = sort or LeadSort()
        descending = (NATURAL_DESCENDING[sort.by] if sort.direction is None
                      else sort.direction is SortDirection.DESC)
        answer = search_service.search_leads(principal_of(info), query, search_filter, SortBy(sort.by.value),
                                             descending, first, after)
        edges = [LeadSearchEdge(cursor=cursor, id=strawberry.ID(lead.lead_id), company=lead.company,
                                node=None if answer.company_only else Lead.from_model(lead))
                 for lead, cursor in zip(answer.leads, answer.cursors)]
        return LeadSearchResult(edges=edges, page_info=PageInfo(has_next_page=answer.end_cursor is not None,
                                                                end_cursor=answer.end_cursor),
                                total=answer.total, complete=answer.complete, notice=answer.notice)


TYPE_ROLES = {"LeadSearchResult": frozenset(ALL_ROLES), "LeadSearchEdge": frozenset(ALL_ROLES)}
