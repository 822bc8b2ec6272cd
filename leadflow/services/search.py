"""searchLeads: find leads by name, email, company, phone or postal code, filter, sort, page.

Each answer reads a bounded set of candidates from the most selective source there is: the search
index for the query's words (the longest first, a Query each, until one has at most CANDIDATE_CAP
leads), else the owners' or stages' index (by_owner, by_stage), else, for a rep, their own leads.
The candidates are read (BatchGetItem), then scope, every query word, the filter and the sort are
applied in memory. Beyond CANDIDATE_CAP candidates the answer says so (`complete: false` and a
notice to narrow the search). Requests per answer: at most 2 x MAX_SOURCE_WORDS Queries + CAP/100
BatchGetItems, or CAP/100 (+1) Query pages per owner or stage listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from leadflow.adapters.keys import hash_key
from leadflow.domain import search as rules
from leadflow.domain.access import Principal, Role
from leadflow.domain.errors import Forbidden, InvalidInput
from leadflow.settings import get_settings
from leadflow.store import leads as repo
from leadflow.store import search as index

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

CANDIDATE_CAP = 500
MAX_PAGE = 100
# Finance finds a lead to rate by its company: only company words count, and only id and company come back.
COMPANY_ONLY_ROLES = frozenset({Role.FINANCE})


@dataclass
class SearchAnswer:
    leads: list[LeadModel]
    cursors: list[str]
    end_cursor: str | None
    total: int  # matches among the candidates (all matches when complete)
    complete: bool
    notice: str | None
    company_only: bool  # the caller gets ids and company names only


def make_filter(*, stages=(), owners=(), grades=(), qualities=(), sources=(), campaigns=(), countries=(),
                created_from=None, created_to=None, stage_entered_from=None, stage_entered_to=None
                ) -> rules.SearchFilter:
    tz = ZoneInfo(get_settings().company_timezone)
    return rules.SearchFilter(
        stages=tuple(stages or ()), owners=tuple(owners or ()), grades=tuple(grades or ()),
        qualities=tuple(qualities or ()), sources=tuple(sources or ()), campaigns=tuple(campaigns or ()),
        countries=tuple(countries or ()), created_from=created_from, created_to=created_to,
        stage_entered_from=stage_entered_from, stage_entered_to=stage_entered_to, tz=tz).check()


def search_leads(principal: Principal, query: str | None, search_filter: rules.SearchFilter,
                 sort_by: rules.SortBy = rules.SortBy.CREATED, descending: bool = True, first: int = 20,
                 after: str | None = None) -> SearchAnswer:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    words = rules.parse_query(query)
    if principal.role is Role.SALES_REP:
        others = [o for o in search_filter.owners if o != principal.user_id]
        if others:
            raise Forbidden(f"a rep finds their own leads only; filter.owners may name only you "
                            f"({principal.user_id}), not {others[0]!r}", field="filter.owners")
    search = rules.fingerprint(words, search_filter, sort_by, descending)
    key = hash_key()
    place = rules.decode_cursor(after, search, key)  # refused before anything is read
    company_only = principal.role in COMPANY_ONLY_ROLES

    candidates, complete, source = _candidates(principal, words, search_filter, company_only)
    from leadflow.services.leads import may_see

    def visible(lead: LeadModel) -> bool:
        if company_only or principal.role in (Role.MARKETING, Role.ADMIN):
            return True
        return may_see(principal, lead)  # a rep: their own; a manager: their teams'

    codes = (rules.COMPANY,) if company_only else None
    found = [lead for lead in candidates
             if lead.erased_at is None and visible(lead) and search_filter.accepts(lead)
             and rules.lead_matches(words, _fields(lead), codes)]
    found.sort(key=lambda lead: rules.rank(lead, sort_by, descending))
    after_place = [lead for lead in found if place is None or rules.rank(lead, sort_by, descending) > place]
    page = after_place[:first]
    cursors = [rules.encode_cursor(rules.rank(lead, sort_by, descending), search, key) for lead in page]
    more = len(after_place) > first
    notice = None if complete else (
        f"more than {CANDIDATE_CAP} leads match {source}: only {CANDIDATE_CAP} were looked at; narrow the "
        "search (more letters or words, a stage, an owner)")
    return SearchAnswer(leads=page, cursors=cursors, end_cursor=cursors[-1] if more and cursors else None,
                        total=len(found), complete=complete, notice=notice, company_only=company_only)


def _fields(lead: LeadModel) -> dict:
    return {name: getattr(lead, name) for name in rules.SEARCHED_FIELDS}


def _candidates(principal: Principal, words: list[rules.QueryWord], search_filter: rules.SearchFilter,
                company_only: bool) -> tuple[list[LeadModel], bool, str]:
    """(candidate leads, whether they are all that the source holds, the source in words)."""
    sources = rules.source_words(words)
    if sources:
        best: tuple[dict[str, str], bool, str] | None = None
        for word in sources:
            ids: dict[str, str] = {}
            complete = True
            for partition, prefix in word.lookups():
                found, whole = index.lookup(partition, prefix, limit=2 * CANDIDATE_CAP)
                ids.update(found)
                complete = complete and whole
            if company_only:
                ids = {i: c for i, c in ids.items() if rules.COMPANY in c}
            if complete and len(ids) <= CANDIDATE_CAP:
                best = (ids, True, f"'{word.text}'")
                break
            if best is None:
                best = (ids, False, f"'{word.text}'")
        ids, complete, source = best
        chosen = sorted(ids, reverse=True)[:CANDIDATE_CAP]  # lead ids are time-ordered: the newest
        leads = repo.find_leads(set(chosen))
        return [leads[i] for i in chosen if i in leads], complete and len(ids) <= CANDIDATE_CAP, source
    if words:  # only words too short (one character) or stop words: they cannot be looked up
        raise InvalidInput("query: type at least two characters of a name, company, email, phone or "
                           "postal code (legal forms such as GmbH alone find nothing)", field="query")
    owners = list(search_filter.owners)
    if not owners and principal.role is Role.SALES_REP:
        owners = [principal.user_id]
    if owners:
        return _collect(index.owner_leads, owners, "the owners' leads")
    if search_filter.stages:
        return _collect(index.stage_leads, list(search_filter.stages), "the stages")
    raise InvalidInput("give a query (a name, company, email, phone or postal code), filter.owners or "
                       "filter.stages: a search reads only a bounded part of the leads", field="query")


def _collect(read, keys: list[str], what: str) -> tuple[list[LeadModel], bool, str]:
    leads: list[LeadModel] = []
    complete = True
    for key in dict.fromkeys(keys):
        room = CANDIDATE_CAP - len(leads)
        if room <= 0:
            complete = False
            break
        items, whole = read(key, room)
        leads += items
        complete = complete and whole
    return leads, complete, what
