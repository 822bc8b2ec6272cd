"""Lists of leads read through the Leads table's indexes: a stage (by_stage), the review queue
(by_review), a rep's leads (by_owner), a manager's queue (by_manager_queue).

by_stage and by_review are sharded (models.stage_key, models.review_key): a list is the merge of
its shards, one Query per shard and page (STAGE_SHARDS, REVIEW_SHARDS), in the order of the sort
key. That sort key is unique per lead ("<at ISO>#<lead id>"), so the merged order is total and one
position is a position in every shard: a cursor is the key of the last item returned (as for an
unsharded index, still opaque), and each shard continues with a key condition after its sort key.

The indexes hold keys (by_stage: and models.STAGE_INDEX_ATTRIBUTES), not the leads: a page reads
its leads with one BatchGetItem (_leads), in the index's order. Readers that need only what the
index holds (sweeps, retention, outcome counts) read no more.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from leadflow.store.leads import decode_cursor, encode_cursor, index_cursor
from leadflow.store.models import (
    REVIEW_QUEUE,
    REVIEW_SHARDS,
    STAGE_INDEX_ATTRIBUTES,
    STAGE_SHARDS,
    LeadModel,
    all_shards,
    review_key,
)

MAX_PAGE = 100
# A lazily read list (a caller filters it, api/cost.py counts it) reads index pages and
# BatchGetItems of at least this many (BatchGetItem's maximum).
LAZY_PAGE = MAX_PAGE


def stage_partitions(stage: str) -> list[str]:
    return all_shards(stage, STAGE_SHARDS)


def review_partitions() -> list[str]:
    return all_shards(REVIEW_QUEUE, REVIEW_SHARDS)


def in_review(lead: LeadModel | None) -> bool:
    """The lead waits in the review queue (it has a by_review partition)."""
    return lead is not None and (lead.review_queue or "").partition("#")[0] == REVIEW_QUEUE


def review_queue_key(lead_id: str) -> str:
    """The `review_queue` value that puts a lead into the review queue."""
    return review_key(lead_id)


def _index_keys(index_name: str) -> tuple[str, ...]:
    return tuple(getattr(LeadModel, index_name).Meta.attributes)


def _leads(entries: Iterable[LeadModel], index_name: str, chunk: int = MAX_PAGE,
           attributes_to_get: list[str] | None = None) -> Iterator[LeadModel]:
    """The leads of index entries, in the entries' order (lazy): one BatchGetItem per `chunk`
    entries. A lead deleted since the index was read, or no longer where the entry puts it (in
    another stage, with another owner, out of the queue), is not in that list any more: skipped."""
    keys = _index_keys(index_name)
    attributes = list(dict.fromkeys([*attributes_to_get, "lead_id", *keys])) if attributes_to_get else None
    entries = iter(entries)
    chunk = max(1, min(chunk, MAX_PAGE))
    while batch := list(islice(entries, chunk)):
        found = {lead.lead_id: lead for lead in LeadModel.batch_get([e.lead_id for e in batch],
                                                                    attributes_to_get=attributes)}
        for entry in batch:
            lead = found.get(entry.lead_id)
            if lead is not None and all(getattr(lead, key) == getattr(entry, key) for key in keys):
                yield lead


def _merge(results: Iterable[Iterable[LeadModel]], sort_key: str, newest_first: bool) -> Iterator[LeadModel]:
    """The items of every shard's (lazy, sorted) query as one sorted stream."""
    return heapq.merge(*results, key=lambda item: getattr(item, sort_key), reverse=newest_first)


def _page(queries: list[Callable[[int], Any]], first: int, sort_key: str, newest_first: bool,
          index_name: str) -> tuple[list[LeadModel], str | None]:
    """One page of a sharded list: each shard read once with `first` as its limit (N Queries),
    merged and cut, its leads read (a BatchGetItem); a cursor when a shard may hold more."""
    first = max(1, min(first, MAX_PAGE))
    results = [query(first) for query in queries]
    found = [list(result) for result in results]
    merged = sorted((item for items in found for item in items), key=lambda item: getattr(item, sort_key),
                    reverse=newest_first)
    entries = merged[:first]
    more = len(merged) > first or any(result.last_evaluated_key for result in results)
    # the cursor is the last entry's: a lead skipped at the end of the page is not read again
    return list(_leads(entries, index_name, first)), index_cursor(entries[-1], index_name) if entries and more else None


def _after(cursor: str | None, index_name: str, partitions: list[str], sort_key: str) -> str | None:
    """The sort key a cursor continues after (refused by name unless it is one of this list's)."""
    value = decode_cursor(cursor, index_name, partitions)
    return value[sort_key]["S"] if value else None


# --------------------------------------------------------------------------------------- by_stage
def _stage_condition(newer_than: str | None = None, older_than: str | None = None):
    if newer_than is not None and older_than is not None:  # a key condition has one comparison: inclusive
        return LeadModel.stage_sort.between(newer_than, older_than)
    if newer_than is not None:
        return LeadModel.stage_sort > newer_than
    if older_than is not None:
        return LeadModel.stage_sort < older_than
    return None


def leads_in_stage(stage: str, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of the leads in a stage, newest first (one Query per shard)."""
    before = _after(after, "by_stage", stage_partitions(stage), "stage_sort")
    queries = [lambda limit, p=p: LeadModel.by_stage.query(p, _stage_condition(older_than=before),
                                                          scan_index_forward=False, limit=limit)
               for p in stage_partitions(stage)]
    return _page(queries, first, "stage_sort", True, "by_stage")


def stage_pages(stage: str, after: str | None, page_size: int) -> Iterator[LeadModel]:
    """The leads in a stage, newest first, read lazily page by page from every shard (for a
    caller that filters and cuts its own page: index_cursor of its last item continues). Pages of
    at least LAZY_PAGE: keys are cheap to read, and a filtering caller's requests stay few."""
    before = _after(after, "by_stage", stage_partitions(stage), "stage_sort")
    size = max(page_size, LAZY_PAGE)
    return _leads(_merge((LeadModel.by_stage.query(p, _stage_condition(older_than=before), scan_index_forward=False,
                                                   page_size=size) for p in stage_partitions(stage)),
                         "stage_sort", newest_first=True), "by_stage", size)


def in_stage(stage: str, *, newer_than: str | None = None, older_than: str | None = None,
             newest_first: bool = False, limit: int | None = None, filter_condition=None,
             attributes_to_get: list[str] | None = None) -> Iterator[LeadModel]:
    """Leads in a stage whose stage_sort (when they entered it) lies in the bounds (exclusive, both
    given: inclusive), merged over
    every shard in stage_sort order, at most `limit` (lazy; batch jobs and sweeps). Only
    `attributes_to_get` the index holds: no more than the index is read; else the leads (a
    BatchGetItem per 100, only those attributes). `filter_condition`: on what the index holds."""
    attributes = list(dict.fromkeys([*attributes_to_get, "stage_sort"])) if attributes_to_get else None
    indexed = attributes is not None and set(attributes) <= {"lead_id", *_index_keys("by_stage"),
                                                              *STAGE_INDEX_ATTRIBUTES}
    merged = _merge((LeadModel.by_stage.query(p, _stage_condition(newer_than, older_than),
                                              scan_index_forward=not newest_first, limit=limit,
                                              filter_condition=filter_condition,
                                              attributes_to_get=attributes if indexed else None)
                     for p in stage_partitions(stage)), "stage_sort", newest_first)
    entries = islice(merged, limit) if limit is not None else merged
    return entries if indexed else _leads(entries, "by_stage", MAX_PAGE, attributes)


def retention_candidates(stage: str, entered_before: str, limit: int) -> Iterator[LeadModel]:
    """Leads not erased that entered `stage` before `entered_before` (ISO), oldest first, at most
    `limit`: their index entries (lead_id, stage_sort; eventually consistent: the caller reads
    each again)."""
    return in_stage(stage, older_than=entered_before, limit=limit, attributes_to_get=["lead_id"],
                    filter_condition=LeadModel.erased_at.does_not_exist())


def closed_leads(stage: str, *, reached: str | None = None, newer_than: str | None = None,
                 attributes_to_get: list[str] | None = None) -> Iterator[LeadModel]:
    """Leads in a (closed) stage, oldest outcome first; with `reached`, only those that had been
    in that stage (filtered in the Query); with `newer_than` (a stage_sort), only newer ones."""
    condition = LeadModel.stages_reached.contains(reached) if reached else None
    return in_stage(stage, newer_than=newer_than, filter_condition=condition, attributes_to_get=attributes_to_get)


def stage_id_pages(stage: str, newer_than: str, older_than: str, page_size: int,
                   filter_condition=None) -> Iterator[list[str]]:
    """The ids of the leads that entered `stage` between the bounds, page by page, shard by shard
    (no order across shards: for a sweep that hands each id on)."""
    for partition in stage_partitions(stage):
        start = None
        while True:
            result = LeadModel.by_stage.query(partition, _stage_condition(newer_than, older_than),
                                              filter_condition=filter_condition, attributes_to_get=["lead_id"],
                                              limit=page_size, page_size=page_size, last_evaluated_key=start)
            ids = [item.lead_id for item in result]
            if ids:
                yield ids
            start = result.last_evaluated_key
            if not start:
                break


# -------------------------------------------------------------------------------------- by_review
def review_page(first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of the review queue, oldest first (one Query per shard)."""
    since = _after(after, "by_review", review_partitions(), "review_sort")
    queries = [lambda limit, p=p: LeadModel.by_review.query(
        p, LeadModel.review_sort > since if since else None, limit=limit) for p in review_partitions()]
    return _page(queries, first, "review_sort", False, "by_review")


def review_pages(after: str | None, page_size: int) -> Iterator[LeadModel]:
    """The review queue, oldest first, read lazily page by page from every shard (pages as
    stage_pages)."""
    since = _after(after, "by_review", review_partitions(), "review_sort")
    size = max(page_size, LAZY_PAGE)
    return _leads(_merge((LeadModel.by_review.query(p, LeadModel.review_sort > since if since else None,
                                                    page_size=size) for p in review_partitions()),
                         "review_sort", newest_first=False), "by_review", size)


# ------------------------------------------------------------------ by_owner, by_manager_queue
def owner_page(owner: str, stage: str | None, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of a rep's leads (in `stage` when given), newest first."""
    prefix = f"{stage}#" if stage else None
    condition = LeadModel.owner_sort.startswith(prefix) if prefix else None
    result = LeadModel.by_owner.query(owner, condition, scan_index_forward=False, limit=max(1, min(first, MAX_PAGE)),
                                      last_evaluated_key=decode_cursor(after, "by_owner", owner, prefix))
    items = list(_leads(list(result), "by_owner", first))
    return items, encode_cursor(result.last_evaluated_key)


def manager_queue_page(manager: str, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of the leads waiting in a manager's queue, oldest first."""
    result = LeadModel.by_manager_queue.query(manager, limit=max(1, min(first, MAX_PAGE)),
                                              last_evaluated_key=decode_cursor(after, "by_manager_queue", manager))
    items = list(_leads(list(result), "by_manager_queue", first))
    return items, encode_cursor(result.last_evaluated_key)


def owner_pages(owner: str, page_size: int) -> Iterator[LeadModel]:
    """A rep's leads, newest first, read lazily page by page (for a caller that filters and caps)."""
    size = max(page_size, LAZY_PAGE)
    return _leads(LeadModel.by_owner.query(owner, scan_index_forward=False, page_size=size), "by_owner", size)
