"""Lists of leads read through the Leads table's indexes: a stage (by_stage), the review queue
(by_review), a rep's leads (by_owner), a manager's queue (by_manager_queue).

by_stage and by_review are sharded (models.stage_key, models.review_key): a list is the merge of
its shards, one Query per shard and page (STAGE_SHARDS, REVIEW_SHARDS), in the order of the sort
key. That sort key is unique per lead ("<at ISO>#<lead id>"), so the merged order is total and one
position is a position in every shard: a cursor is the key of the last item returned (as for an
unsharded index, still opaque), and each shard continues with a key condition after its sort key.
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
    STAGE_SHARDS,
    LeadModel,
    all_shards,
    review_key,
)

MAX_PAGE = 100
# A lazily merged list (a caller that filters) reads at least this many items per shard request:
# a filtered page of 1 would otherwise cost a request per item examined, on every shard.
MIN_SHARD_PAGE = 10


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


def _merge(results: Iterable[Iterable[LeadModel]], sort_key: str, newest_first: bool) -> Iterator[LeadModel]:
    """The items of every shard's (lazy, sorted) query as one sorted stream."""
    return heapq.merge(*results, key=lambda item: getattr(item, sort_key), reverse=newest_first)


def _page(queries: list[Callable[[int], Any]], first: int, sort_key: str, newest_first: bool,
          index_name: str) -> tuple[list[LeadModel], str | None]:
    """One page of a sharded list: each shard read once with `first` as its limit (N Queries),
    merged and cut; a cursor when a shard may hold more."""
    first = max(1, min(first, MAX_PAGE))
    results = [query(first) for query in queries]
    found = [list(result) for result in results]
    merged = sorted((item for items in found for item in items), key=lambda item: getattr(item, sort_key),
                    reverse=newest_first)
    items = merged[:first]
    more = len(merged) > first or any(result.last_evaluated_key for result in results)
    return items, index_cursor(items[-1], index_name) if items and more else None


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
    caller that filters and cuts its own page: index_cursor of its last item continues)."""
    before = _after(after, "by_stage", stage_partitions(stage), "stage_sort")
    page_size = max(page_size, MIN_SHARD_PAGE)
    return _merge((LeadModel.by_stage.query(p, _stage_condition(older_than=before), scan_index_forward=False,
                                            page_size=page_size) for p in stage_partitions(stage)),
                  "stage_sort", newest_first=True)


def in_stage(stage: str, *, newer_than: str | None = None, older_than: str | None = None,
             newest_first: bool = False, limit: int | None = None, filter_condition=None,
             attributes_to_get: list[str] | None = None) -> Iterator[LeadModel]:
    """Leads in a stage whose stage_sort (when they entered it) lies in the bounds (exclusive, both
    given: inclusive), merged over
    every shard in stage_sort order, at most `limit` (lazy; batch jobs and sweeps)."""
    attributes = list(dict.fromkeys([*attributes_to_get, "stage_sort"])) if attributes_to_get else None
    merged = _merge((LeadModel.by_stage.query(p, _stage_condition(newer_than, older_than),
                                              scan_index_forward=not newest_first, limit=limit,
                                              filter_condition=filter_condition, attributes_to_get=attributes)
                     for p in stage_partitions(stage)), "stage_sort", newest_first)
    return islice(merged, limit) if limit is not None else merged


def retention_candidates(stage: str, entered_before: str, limit: int) -> Iterator[LeadModel]:
    """Leads not erased that entered `stage` before `entered_before` (ISO), oldest first, at most
    `limit`: read from the index (eventually consistent; the caller checks each again)."""
    return in_stage(stage, older_than=entered_before, limit=limit,
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
    """The review queue, oldest first, read lazily page by page from every shard."""
    since = _after(after, "by_review", review_partitions(), "review_sort")
    page_size = max(page_size, MIN_SHARD_PAGE)
    return _merge((LeadModel.by_review.query(p, LeadModel.review_sort > since if since else None,
                                             page_size=page_size) for p in review_partitions()),
                  "review_sort", newest_first=False)


# ------------------------------------------------------------------ by_owner, by_manager_queue
def owner_page(owner: str, stage: str | None, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of a rep's leads (in `stage` when given), newest first."""
    prefix = f"{stage}#" if stage else None
    condition = LeadModel.owner_sort.startswith(prefix) if prefix else None
    result = LeadModel.by_owner.query(owner, condition, scan_index_forward=False, limit=max(1, min(first, MAX_PAGE)),
                                      last_evaluated_key=decode_cursor(after, "by_owner", owner, prefix))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key)


def manager_queue_page(manager: str, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    """One page of the leads waiting in a manager's queue, oldest first."""
    result = LeadModel.by_manager_queue.query(manager, limit=max(1, min(first, MAX_PAGE)),
                                              last_evaluated_key=decode_cursor(after, "by_manager_queue", manager))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key)


def owner_pages(owner: str, page_size: int) -> Iterator[LeadModel]:
    """A rep's leads, newest first, read lazily page by page (for a caller that filters and caps)."""
    return iter(LeadModel.by_owner.query(owner, scan_index_forward=False, page_size=page_size))
