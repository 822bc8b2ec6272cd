"""Batch reads for the GraphQL API's per-request loaders: the nested data of many leads at once.

Where the whole key is known (a lead's consent ledger and journey state: `lead#<id>` + a fixed
sort key) one BatchGetItem reads up to 100 items. A list under a lead with unknown sort keys
(history, timeline, duplicate links) is one Query per lead: DynamoDB has no Query across
partitions, so a page of n leads costs n Queries per such list (the API's cost limit counts them).
"""

from __future__ import annotations

from collections.abc import Iterable

from leadflow.store.models import HistoryModel, NurtureModel, TimelineModel

BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem request


def nurture_items(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], NurtureModel]:
    """{(lead id, sort key): item} of the leads' nurture items that exist ("consent": the ledger,
    "journey": the journey state), strongly consistent like the single reads; BatchGetItem with
    up to 100 keys a request (PynamoDB splits larger sets and retries unprocessed keys)."""
    wanted = list(dict.fromkeys((f"lead#{lead_id}", sk) for lead_id, sk in keys))
    if not wanted:
        return {}
    return {(item.pk.removeprefix("lead#"), item.sk): item
            for item in NurtureModel.batch_get(wanted, consistent_read=True)}


def histories(lead_ids: Iterable[str]) -> dict[str, list[HistoryModel]]:
    """{lead id: its history, oldest first}: one Query per lead."""
    return {lead_id: list(HistoryModel.query(lead_id, consistent_read=True)) for lead_id in dict.fromkeys(lead_ids)}


def timelines(keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[TimelineModel]]:
    """{(lead id, limit): its newest `limit` engagement events, newest first}: one Query per key."""
    return {(lead_id, limit): list(TimelineModel.query(lead_id, scan_index_forward=False, limit=limit))
            for lead_id, limit in dict.fromkeys(keys)}
