"""PynamoDB models: the only description of what lives in DynamoDB.

Table names come from the environment template.yaml sets; the defaults match
what the local stack and the tests provision from the same template.
"""

from __future__ import annotations

import hashlib
import threading

import botocore.session
import pynamodb.connection.base as pynamodb_connection
from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from leadflow.settings import get_settings

_settings = get_settings()


class _Meta:
    region = _settings.region


_connection: Connection | None = None
_sessions = threading.local()


def _shared_session() -> botocore.session.Session:
    """PynamoDB opens a botocore session per model class, and each one parses the DynamoDB service
    description again (~50 ms CPU at every cold start, per model). One session per thread (PynamoDB
    keeps them per thread because creating clients is not thread-safe) parses it once."""
    if getattr(_sessions, "session", None) is None:
        _sessions.session = botocore.session.get_session()
    return _sessions.session


pynamodb_connection.get_session = _shared_session


def shard(prefix: str, key: str, shards: int) -> str:
    """The partition of a sparse index an item goes to: spread by a hash of its key over
    `shards` partitions, so no single hot partition forms; readers query each shard."""
    return f"{prefix}#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % shards}"


def all_shards(prefix: str, shards: int) -> list[str]:
    """Every partition `shard(prefix, ..., shards)` can return."""
    return [f"{prefix}#{n}" for n in range(shards)]


# The sparse lead lists are sharded: every lead of a stage (or every lead in review) on one index
# partition would cap the whole funnel at DynamoDB's 1,000 WCU/s for that partition. The shard comes
# from a hash of the lead id, so a lead stays in its shard from stage to stage; readers query every
# shard and merge (store.lead_lists).
STAGE_SHARDS = 8
REVIEW_SHARDS = 4
REVIEW_QUEUE = "needs_review"


def stage_key(stage: str, lead_id: str) -> str:
    """The by_stage partition of a lead in `stage`: "<stage>#<n>"."""
    return shard(stage, lead_id, STAGE_SHARDS)


def review_key(lead_id: str) -> str:
    """The by_review partition of a lead waiting for a reviewer: "needs_review#<n>"."""
    return shard(REVIEW_QUEUE, lead_id, REVIEW_SHARDS)


def connection() -> Connection:
    """One low-level connection per process for transactions (a botocore client is costly to create)."""
    global _connection
    if _connection is None:
        _connection = Connection(region=_Meta.region)
    return _connection


def reset_connections() -> None:
    """For tests: forget connections made under another emulator."""
    global _connection
    _connection = None
    for model in ALL_MODELS:
        model._connection = None


# The lead lists' indexes hold the keys, not the lead (~6 KB): every change of a lead rewrote the
# whole item into each index it is in (issue 12). A page reads its leads with one BatchGetItem
# (store.lead_lists). by_stage also carries what its sweeps filter on and its light readers read.
STAGE_INDEX_ATTRIBUTES = ("stage", "stages_reached", "erased_at", "owner_id", "queue_manager")


class ByStageIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_stage"
        projection = IncludeProjection(list(STAGE_INDEX_ATTRIBUTES))

    stage_shard = UnicodeAttribute(hash_key=True)
    stage_sort = UnicodeAttribute(range_key=True)


class ByReviewIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_review"
        projection = KeysOnlyProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    review_sort = UnicodeAttribute(range_key=True)


class ByIntakePendingIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_intake_pending"
        projection = KeysOnlyProjection()

    intake_pending = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class ByOwnerIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_owner"
        projection = KeysOnlyProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    owner_sort = UnicodeAttribute(range_key=True)


class ByManagerQueueIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_manager_queue"
        projection = KeysOnlyProjection()

    queue_manager = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class BySlaDueIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_sla_due"
        projection = KeysOnlyProjection()

    sla_bucket = UnicodeAttribute(hash_key=True)
    sla_due = UnicodeAttribute(range_key=True)


class ConsentAttribute(MapAttribute):
    purposes = ListAttribute(of=UnicodeAttribute, default=list)
    text_version = UnicodeAttribute(null=True)
    given_at = UTCDateTimeAttribute(null=True)


class LeadModel(Model):
    """One lead: its contact data, its current stage and quality, and a version
    that every change increments (the optimistic lock of all transitions)."""

    class Meta(_Meta):
        table_name = _settings.leads_table

    lead_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=1)
    stage = UnicodeAttribute()
    stage_sort = UnicodeAttribute()  # "<entered stage at ISO>#<lead id>": newest last in by_stage
    stage_shard = UnicodeAttribute(null=True)  # stage_key(stage, lead_id): derived, written with `stage`
    stage_entered_at = UTCDateTimeAttribute()
    quality = UnicodeAttribute(default="pending")
    quality_reasons = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    # contact data (personal data: erasure must clear these)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    job_title = UnicodeAttribute(null=True)
    street = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)

    # where it came from and what it wants
    interests = ListAttribute(of=UnicodeAttribute, null=True)
    source = UnicodeAttribute(null=True)
    campaign = UnicodeAttribute(null=True)
    form_id = UnicodeAttribute(null=True)
    consent = ConsentAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    last_campaign = UnicodeAttribute(null=True)  # last-touch attribution
    stages_reached = ListAttribute(of=UnicodeAttribute, null=True)  # for cohorts: each stage counted once

    # qualification results
    enrichment = JSONAttribute(null=True)
    interest_areas = ListAttribute(of=UnicodeAttribute, null=True)
    existing_customer = BooleanAttribute(default=False)
    account_id = UnicodeAttribute(null=True)
    account_owner_id = UnicodeAttribute(null=True)
    key_account = BooleanAttribute(default=False)
    key_account_marketing = BooleanAttribute(default=False)  # the account owner allows nurturing
    duplicate_of = UnicodeAttribute(null=True)  # a possible duplicate a reviewer should look at
    merged_into = UnicodeAttribute(null=True)  # this submission was merged into that lead
    submissions = NumberAttribute(default=1)
    attributes = JSONAttribute(null=True)  # raw columns of imported historical leads

    # sparse index keys: present only while the lead waits
    review_queue = UnicodeAttribute(null=True)  # review_key(lead_id): "needs_review#<n>"
    review_sort = UnicodeAttribute(null=True)
    intake_pending = UnicodeAttribute(null=True)  # "pending" until qualified
    created_sort = UnicodeAttribute(null=True)
    intake_attempts = NumberAttribute(default=0)

    # scoring
    engagement_state = JSONAttribute(null=True)  # {event type: [decayed value, as-of ISO]}
    score = JSONAttribute(null=True)  # the explained rule score (domain.scoring.Score.to_dict)
    score_total = NumberAttribute(null=True)
    grade = UnicodeAttribute(null=True)
    scored_at = UTCDateTimeAttribute(null=True)
    creditworthiness = UnicodeAttribute(null=True)  # good | poor, set by finance or an integration
    visitor_id = UnicodeAttribute(null=True)  # the web visitor who submitted (cookie id, with consent)
    language = UnicodeAttribute(null=True)
    preferred_channel = UnicodeAttribute(null=True)  # email | phone | postal
    age_group = UnicodeAttribute(null=True)
    prediction = JSONAttribute(null=True)  # {probability, model_version, factors}

    # routing and the sales side
    owner_sort = UnicodeAttribute(null=True)  # "<stage>#<stage_sort>" while owned
    team_id = UnicodeAttribute(null=True)
    assigned_at = UTCDateTimeAttribute(null=True)
    queue_manager = UnicodeAttribute(null=True)  # manager whose queue holds the lead (sparse index)
    sla_bucket = UnicodeAttribute(null=True)  # "sla#<shard>" while acceptance is awaited (sparse index)
    sla_due = UnicodeAttribute(null=True)  # ISO deadline for acceptance
    earlier_owners = ListAttribute(of=UnicodeAttribute, null=True)  # reps who missed its SLA or rejected it
    qualification = JSONAttribute(null=True)  # BANT: budget, authority, need, timeline
    opportunity = JSONAttribute(null=True)  # amount (cents), currency, expected close
    close_reason = UnicodeAttribute(null=True)
    erased_at = UTCDateTimeAttribute(null=True)  # personal data removed (GDPR Art. 17)

    by_stage = ByStageIndex()
    by_review = ByReviewIndex()
    by_intake_pending = ByIntakePendingIndex()
    by_owner = ByOwnerIndex()
    by_manager_queue = ByManagerQueueIndex()
    by_sla_due = BySlaDueIndex()

    def serialize(self, null_check: bool = True) -> dict:
        """Every put of a lead (save, a transaction's save, a batch write) carries the by_stage key
        of its stage; an update that moves the stage sets it too (store.leads.lead_actions)."""
        if self.stage and self.lead_id:
            self.stage_shard = stage_key(self.stage, self.lead_id)
        return super().serialize(null_check)


class HistoryModel(Model):
    """Append-only: one item per change, keyed by the lead version it produced."""

    class Meta(_Meta):
        table_name = _settings.history_table

    lead_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    kind = UnicodeAttribute(default="stage")  # stage | quality | review | assignment | note
    from_stage = UnicodeAttribute(null=True)
    to_stage = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)


class MarkerModel(Model):
    """Uniqueness markers written in the same transaction as the lead:
    `email#<hash>`, `idem#<key>`, `form#<digest>`. And pending work whose queue message carries ids
    only (never personal data in SQS or its DLQ): `resub#<lead>#<submission>`, a later form of a known
    person; `event#<lead>#<event>`, an engagement event (page, click, open) waiting to be scored."""

    class Meta(_Meta):
        table_name = _settings.markers_table

    marker = UnicodeAttribute(hash_key=True)
    lead_id = UnicodeAttribute()
    body_hash = UnicodeAttribute(null=True)
    response = JSONAttribute(null=True)
    payload = JSONAttribute(null=True)  # pending work (resub#, event#): what the message points to
    expires_at = NumberAttribute(null=True)  # TTL, epoch seconds


class OutboxModel(Model):
    """The follow-ups of one committed change, written in the change's own transaction and read
    from the table's stream (CountersFunction, RelayFunction): `change` names the change
    ("v<lead version>", or a business key), so writing the same change twice fails."""

    class Meta(_Meta):
        table_name = _settings.outbox_table

    lead_id = UnicodeAttribute(hash_key=True)
    change = UnicodeAttribute(range_key=True)
    counters = JSONAttribute(null=True)  # [[pk, sk, {attribute: delta}], ...]
    effects = JSONAttribute(null=True)  # [{"event": type, "detail": {...}} | {"work": queue, "body": {...}}]
    at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL: the stream keeps records 24 h, the item a little longer


class CounterModel(Model):
    """A pre-aggregated funnel counter item (see leadflow.domain.controlling)."""

    class Meta(_Meta):
        table_name = _settings.metrics_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ConfigModel(Model):
    """Versioned rule sets. Version 0 of each name is the pointer to the active version."""

    class Meta(_Meta):
        table_name = _settings.config_table

    name = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    document = JSONAttribute(null=True)
    active_version = NumberAttribute(null=True)
    author = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    comment = UnicodeAttribute(null=True)


class TimelineModel(Model):
    """One engagement event of a lead; the sort key makes a redelivered event a no-op."""

    class Meta(_Meta):
        table_name = _settings.timeline_table

    lead_id = UnicodeAttribute(hash_key=True)
    event_sort = UnicodeAttribute(range_key=True)  # "<at ISO>#<event id>"
    event_type = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    # an engagement event: url, campaign, content key (no personal data); an activity a person logged
    # (store.activities): author and what they wrote, deleted with the timeline on erasure
    details = JSONAttribute(null=True)


class RoutingStateModel(Model):
    """pk "rotation#<team id>" / sk "state": the team's rotation credits and its reps' assignment
    counts, versioned for conditional writes;
    pk "assigned#<YYYY-MM>" / sk "<at>#<lead id>": the assignment log the fairness report reads."""

    class Meta(_Meta):
        table_name = _settings.routing_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(null=True)
    state = JSONAttribute(null=True)
    rep_id = UnicodeAttribute(null=True)
    rule = UnicodeAttribute(null=True)
    pool = ListAttribute(of=UnicodeAttribute, null=True)
    at = UTCDateTimeAttribute(null=True)


class ByDueIndex(GlobalSecondaryIndex["NurtureModel"]):
    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    due_bucket = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class ByAssigneeIndex(GlobalSecondaryIndex["NurtureModel"]):
    class Meta:
        index_name = "by_assignee"
        projection = AllProjection()

    assignee = UnicodeAttribute(hash_key=True)
    task_sort = UnicodeAttribute(range_key=True)


class NurtureModel(Model):
    """Nurturing items:
    pk "lead#<id>" / sk "consent": the consent ledger (records as JSON);
    pk "lead#<id>" / sk "journey": journey state (runs, sends, unsubscribe, address status), due index keys;
    pk "task#<id>" / sk "task": a phone call or letter for a person (assignee index);
    pk "visitor#<id>" / sk "<at>#<event id>": an anonymous visitor's event awaiting a form (TTL)."""

    class Meta(_Meta):
        table_name = _settings.nurture_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(default=1)
    data = JSONAttribute(null=True)
    due_bucket = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    assignee = UnicodeAttribute(null=True)
    task_sort = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)

    by_due = ByDueIndex()
    by_assignee = ByAssigneeIndex()


class AccountModel(Model):
    """An existing customer account from the customer import; key accounts have an owner
    who must be involved before marketing approaches them (seed 001)."""

    class Meta(_Meta):
        table_name = _settings.accounts_table

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    domain = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    key_account = BooleanAttribute(default=False)
    marketing_allowed = BooleanAttribute(default=False)  # the owner lets marketing nurture this key account
    contacts = JSONAttribute(null=True)  # [{first_name, last_name, email, phone}]
    imported_at = UTCDateTimeAttribute(null=True)


class MatchModel(Model):
    """Dedup index entry: match key (hashed email/phone, name+company block, domain) -> reference."""

    class Meta(_Meta):
        table_name = _settings.match_table

    match_key = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute(range_key=True)  # "lead#<id>" | "account#<id>" | "contact#<account>#<n>"


class SearchModel(Model):
    """The search index (domain.search): pk "t#<first 3 characters of a token>#<shard>" | "p#<first 6
    digits of a phone>#<shard>" (the shard from the lead id), sk "<token>#<lead id>", `fields` the
    codes of the lead's fields that have the token.
    Written in the transaction of every change of a searched field, deleted with the lead's data."""

    class Meta(_Meta):
        table_name = _settings.search_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    fields = UnicodeAttribute()


ALL_MODELS: tuple[type[Model], ...] = (LeadModel, HistoryModel, MarkerModel, CounterModel, ConfigModel,
                                       AccountModel, MatchModel, TimelineModel, RoutingStateModel, NurtureModel,
                                       OutboxModel, SearchModel)
