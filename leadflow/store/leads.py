"""Lead repository: every write of a lead, its history and its counters.

Every change is one DynamoDB transaction that checks the expected stage and
version, appends the history item and writes the change's follow-ups into the
outbox (counter deltas, events, work; see leadflow.domain.followups), so a lead
is never half-written, of two concurrent changes exactly one wins, and what a
change sets in motion is committed with it. No transaction of a lead touches an
item other leads' transactions touch: the funnel counters are added up from the
outbox stream (store.counters.add_from_stream).
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate, InvalidInput, no_such_lead
from leadflow.domain.followups import NONE, FollowUps
from leadflow.domain.json_input import parse_json
from leadflow.store import search
from leadflow.store.models import (
    HistoryModel,
    LeadModel,
    MarkerModel,
    OutboxModel,
    TimelineModel,
    connection,
    stage_key,
)


class MarkerTaken(Exception):
    """A uniqueness marker already exists (same email, idempotency key or form submission)."""

    def __init__(self, markers: list[str]):
        super().__init__(", ".join(markers))
        self.markers = markers


def _transaction(token: str) -> TransactWrite:
    return TransactWrite(connection=connection(), client_request_token=token)


CONFLICT_RETRIES = 5


def commit(build: Callable[[TransactWrite], None]) -> None:
    """Run one transaction. When DynamoDB cancelled it only because another transaction touched
    one of its items at the same moment, run it again after a short random pause: nothing was
    written, and the conditions are checked anew.

    Each attempt has a ClientRequestToken: when a transaction did commit but its answer was lost
    (a timeout the SDK retries with the same request), the retry is answered with success instead
    of failing on its own conditions, so a committed change is never reported as a conflict."""
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            with _transaction(uuid.uuid4().hex) as tx:
                build(tx)
            return
        except TransactWriteError as exc:
            codes = {c for c in _cancellation_codes(exc) if c and c != "None"}
            if attempt == CONFLICT_RETRIES or codes != {"TransactionConflict"}:
                raise
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))


OUTBOX_TTL_S = 3 * 24 * 3600  # the stream keeps a record 24 h; the item may go after that


def add_follow_ups(tx: TransactWrite, lead_id: str, change: str, follow_ups: FollowUps, at: datetime) -> None:
    """The outbox item of a change, in the change's transaction; `change` is unique per lead and
    change ("v<version>" for a lead change), so the same change cannot be written twice."""
    if not follow_ups:
        return
    item = OutboxModel(lead_id, change, counters=follow_ups.counters_json(), effects=follow_ups.effects_json(),
                       at=at_iso(at), expires_at=int(at.timestamp()) + OUTBOX_TTL_S)
    tx.save(item, condition=OutboxModel.change.does_not_exist())


def version_change(version: int) -> str:
    """The outbox key of the change that makes a lead's version `version`."""
    return f"v{version:010d}"


def _cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [r.code if r is not None else None for r in reasons]


def _stored(lead_id: str, set_fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as stored: a new stage brings its by_stage partition (models.stage_key)."""
    if "stage" not in set_fields:
        return set_fields
    stage = set_fields["stage"]
    return {**set_fields, "stage_shard": stage_key(stage, lead_id) if stage else None}


def lead_actions(set_fields: dict[str, Any], version: int, at: datetime | None = None, *, lead_id: str) -> list:
    """The update of a lead item: each field set (or removed when None), the version moved on,
    and `updated_at` when the change is one a person would call an update."""
    actions = [getattr(LeadModel, name).set(value) if value is not None else getattr(LeadModel, name).remove()
               for name, value in _stored(lead_id, set_fields).items()]
    actions.append(LeadModel.version.set(version + 1))
    if at is not None:
        actions.append(LeadModel.updated_at.set(at))
    return actions


def as_written(lead: LeadModel, set_fields: dict[str, Any], at: datetime | None = None) -> LeadModel:
    """The lead as `lead_actions` left it: a successful transaction needs no second read."""
    for name, value in _stored(lead.lead_id, set_fields).items():
        setattr(lead, name, value)
    lead.version = lead.version + 1
    if at is not None:
        lead.updated_at = at
    return lead


def create_lead(lead: LeadModel, history: HistoryModel, markers: list[MarkerModel],
                follow_ups: FollowUps) -> None:
    """Store a new lead with its first history entry and its uniqueness markers.

    Raises MarkerTaken naming the markers that already exist."""
    def build(tx: TransactWrite) -> None:
        tx.save(lead, condition=LeadModel.lead_id.does_not_exist())
        for marker in markers:
            tx.save(marker, condition=MarkerModel.marker.does_not_exist())
        tx.save(history, condition=HistoryModel.seq.does_not_exist())
        add_follow_ups(tx, lead.lead_id, version_change(lead.version), follow_ups, history.at)
        search.index_changes(tx, lead, new=True)  # last: the cancellation reasons above keep their places

    try:
        commit(build)
    except TransactWriteError as exc:
        codes = _cancellation_codes(exc)
        # Items were added in order: lead, markers..., history, outbox
        taken = [m.marker for m, code in zip(markers, codes[1:1 + len(markers)])
                 if code == "ConditionalCheckFailed"]
        if taken:
            raise MarkerTaken(taken) from exc
        raise


def apply_change(lead: LeadModel, *, expected_stage: str, expected_version: int,
                 set_fields: dict[str, Any], history: HistoryModel,
                 follow_ups: FollowUps = NONE, markers: Iterable[MarkerModel] = (),
                 released_markers: Iterable[str] = ()) -> None:
    """Apply one change to a lead if it is still at (stage, version). `markers` are taken for the
    lead (MarkerTaken if another holds one), `released_markers` given up if the lead holds them."""
    actions = lead_actions(set_fields, expected_version, history.at, lead_id=lead.lead_id)
    condition = (LeadModel.stage == expected_stage) & (LeadModel.version == expected_version)
    markers, released_markers = list(markers), list(released_markers)
    def build(tx: TransactWrite) -> None:
        tx.update(lead, actions=actions, condition=condition)
        tx.save(history, condition=HistoryModel.seq.does_not_exist())
        for marker in markers:
            tx.save(marker, condition=MarkerModel.marker.does_not_exist())
        for name in released_markers:
            tx.delete(MarkerModel(name), condition=MarkerModel.lead_id == lead.lead_id)
        add_follow_ups(tx, lead.lead_id, version_change(expected_version + 1), follow_ups, history.at)
        search.index_changes(tx, lead, set_fields)  # last: the cancellation reasons above keep their places

    try:
        commit(build)
    except TransactWriteError as exc:
        codes = _cancellation_codes(exc)
        # Items were added in order: lead, history, markers..., released markers..., outbox
        taken = [m.marker for m, code in zip(markers, codes[2:2 + len(markers)]) if code == "ConditionalCheckFailed"]
        if taken:
            raise MarkerTaken(taken) from exc
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise ConcurrentUpdate(
                f"lead {lead.lead_id} changed meanwhile (expected stage {expected_stage}, "
                f"version {expected_version}); reload and retry"
            ) from exc
        raise


class AlreadyRecorded(Exception):
    """The engagement event is on the timeline already (a redelivery)."""


def apply_engagement(lead: LeadModel, *, set_fields: dict[str, Any], event: TimelineModel | None) -> None:
    """Put the event on the timeline and update the lead's score in one transaction."""
    actions = lead_actions(set_fields, lead.version, lead_id=lead.lead_id)
    condition = LeadModel.version == lead.version
    def build(tx: TransactWrite) -> None:
        if event is not None:
            tx.save(event, condition=TimelineModel.event_sort.does_not_exist())
        tx.update(lead, actions=actions, condition=condition)

    try:
        commit(build)
    except TransactWriteError as exc:
        codes = _cancellation_codes(exc)
        if event is not None and codes and codes[0] == "ConditionalCheckFailed":
            raise AlreadyRecorded(event.event_sort) from exc
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise ConcurrentUpdate(f"lead {lead.lead_id} changed meanwhile; retry") from exc
        raise


def timeline_of(lead_id: str, limit: int = 100) -> list[TimelineModel]:
    return list(TimelineModel.query(lead_id, scan_index_forward=False, limit=limit))


def get_lead(lead_id: str, *, consistent: bool = True) -> LeadModel:
    try:
        return LeadModel.get(lead_id, consistent_read=consistent)
    except DoesNotExist:
        raise no_such_lead(lead_id) from None


def find_lead(lead_id: str) -> LeadModel | None:
    try:
        return LeadModel.get(lead_id, consistent_read=True)
    except DoesNotExist:
        return None


def find_leads(lead_ids: set[str]) -> dict[str, LeadModel]:
    """The leads of these ids that exist, by id (BatchGetItem, 100 keys a request)."""
    return {m.lead_id: m for m in LeadModel.batch_get(sorted(lead_ids))} if lead_ids else {}


def existing_ids(lead_ids: list[str]) -> set[str]:
    """The ids of these that are stored (BatchGetItem of the key only, 100 keys a request)."""
    found: set[str] = set()
    for start in range(0, len(lead_ids), 100):
        found.update(lead.lead_id for lead in
                     LeadModel.batch_get(lead_ids[start:start + 100], attributes_to_get=["lead_id"]))
    return found


def put_all(items: list[LeadModel] | list[HistoryModel]) -> None:
    """Write items of one table as they are (BatchWriteItem, unconditional: a bulk import of
    ids nobody else writes)."""
    if not items:
        return
    with type(items[0]).batch_write() as batch:
        for item in items:
            batch.save(item)


def get_marker(marker: str) -> MarkerModel | None:
    try:
        return MarkerModel.get(marker, consistent_read=True)
    except DoesNotExist:
        return None


def put_marker(marker: str, lead_id: str) -> None:
    """A link of a key to a lead (a visitor's cookie, an erased visitor's tombstone), overwritten."""
    MarkerModel(marker, lead_id=lead_id).save()


def release_marker(marker: str, lead_id: str) -> bool:
    """Delete the marker if this lead holds it; True if it did."""
    found = get_marker(marker)
    if found is None or found.lead_id != lead_id:
        return False
    found.delete()
    return True


# Pending work: the queue message names it by ids, the data waits here (kind: resub, event) as
# long as SQS keeps a message (its 14-day maximum retention), then TTL removes what nobody took.
PENDING_TTL_S = 14 * 24 * 3600


def save_pending(kind: str, lead_id: str, item_id: str, payload: dict[str, Any], now: datetime,
                 follow_ups: FollowUps = NONE) -> None:
    """Keep what a queue message points to until its consumer took it, with the follow-ups that
    announce it, in one transaction (the same item twice: once)."""
    marker = MarkerModel(f"{kind}#{lead_id}#{item_id}", lead_id=lead_id, payload=payload,
                         expires_at=int(now.timestamp()) + PENDING_TTL_S)

    def build(tx: TransactWrite) -> None:
        tx.save(marker, condition=MarkerModel.marker.does_not_exist())
        add_follow_ups(tx, lead_id, f"{kind}#{item_id}", follow_ups, now)

    try:
        commit(build)
    except TransactWriteError as exc:
        if "ConditionalCheckFailed" not in _cancellation_codes(exc):
            raise


def pending(kind: str, lead_id: str, item_id: str) -> dict[str, Any] | None:
    marker = get_marker(f"{kind}#{lead_id}#{item_id}")
    return dict(marker.payload) if marker is not None and marker.payload else None


def drop_pending(kind: str, lead_id: str, item_id: str) -> None:
    MarkerModel(f"{kind}#{lead_id}#{item_id}").delete()


def history_of(lead_id: str) -> list[HistoryModel]:
    return list(HistoryModel.query(lead_id, consistent_read=True))


def rewrite_history_entry(item: HistoryModel, *, reason: str | None, details: dict[str, Any] | None) -> None:
    """Replace the reason and details of one history entry (erasure keeps only anonymous facts)."""
    item.update(actions=[HistoryModel.reason.set(reason) if reason else HistoryModel.reason.remove(),
                         HistoryModel.details.set(details) if details else HistoryModel.details.remove()])


def delete_timeline(lead_id: str) -> int:
    """Delete every engagement event of a lead; returns how many there were."""
    items = list(TimelineModel.query(lead_id))
    with TimelineModel.batch_write() as batch:
        for item in items:
            batch.delete(item)
    return len(items)


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


MAX_CURSOR_CHARS = 2048
PAGED_INDEXES = ("by_stage", "by_review", "by_owner", "by_manager_queue", "by_intake_pending", "by_sla_due")


def _index_keys(index_name: str) -> tuple[frozenset[str], str]:
    """(every key name a cursor of that index holds, the name of the index's partition key)."""
    attributes = getattr(LeadModel, index_name).Meta.attributes.values()
    partition = next(a.attr_name for a in attributes if a.is_hash_key)
    return frozenset({"lead_id", *(a.attr_name for a in attributes)}), partition


def decode_cursor(cursor: str | None, index_name: str | None = None, partition: str | Iterable[str] | None = None,
                  sort_prefix: str | None = None) -> dict[str, Any] | None:
    """The key a page continues after: exactly what encode_cursor made for a query on that index
    (the table key and the index's keys, each a non-empty string) and, when given, inside this
    query (its partition value, or one of its shards' partitions; its sort key prefix); DynamoDB
    would answer anything else with a ValidationException. The one place a cursor is judged:
    InvalidInput naming `after` otherwise."""
    if not cursor:
        return None
    refused = InvalidInput("not a cursor this API returned for this list; pass endCursor (or an edge's "
                           "cursor) unchanged", field="after")
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise refused
    try:
        text = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
        value = parse_json(text, field="after", max_depth=2)
    except (ValueError, InvalidInput):  # not base64 (binascii.Error), not UTF-8, not a JSON object
        raise refused from None
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
               for v in value.values()):
        raise refused
    shapes = [_index_keys(index_name)] if index_name else [_index_keys(name) for name in PAGED_INDEXES]
    shape = next((s for s in shapes if s[0] == frozenset(value)), None)
    partitions = {partition} if isinstance(partition, str) else set(partition) if partition is not None else None
    if shape is None or (partitions is not None and value[shape[1]]["S"] not in partitions):
        raise refused
    if sort_prefix is not None:
        sort_key = next(name for name in shape[0] - {"lead_id", shape[1]})
        if not value[sort_key]["S"].startswith(sort_prefix):
            raise refused
    return value


def index_cursor(item: LeadModel, index_name: str) -> str:
    """The cursor that continues a Query on that index after `item`: the table key plus the
    index's keys, exactly what DynamoDB returns as LastEvaluatedKey."""
    key = {"lead_id": {"S": item.lead_id}}
    for name, attribute in getattr(LeadModel, index_name).Meta.attributes.items():
        key[attribute.attr_name] = {"S": getattr(item, name) or ""}
    return encode_cursor(key)


def at_iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")
