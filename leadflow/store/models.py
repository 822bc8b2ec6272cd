"""PynamoDB models: the only description of what lives in DynamoDB.

Table names come from the environment template.yaml sets; the defaults match
what the local stack and the tests provision from the same template.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from leadflow.settings import get_settings

_settings = get_settings()


class _Meta:
    region = _settings.region


class ByStageIndex(GlobalSecondaryIndex["LeadModel"]):
    class Meta:
        index_name = "by_stage"
        projection = AllProjection()

    stage = UnicodeAttribute(hash_key=True)
    stage_sort = UnicodeAttribute(range_key=True)


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

    by_stage = ByStageIndex()


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
    `email#<normalized>`, `idem#<key>`, `form#<digest>`."""

    class Meta(_Meta):
        table_name = _settings.markers_table

    marker = UnicodeAttribute(hash_key=True)
    lead_id = UnicodeAttribute()
    body_hash = UnicodeAttribute(null=True)
    response = JSONAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL, epoch seconds


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


ALL_MODELS: tuple[type[Model], ...] = (LeadModel, HistoryModel, MarkerModel, CounterModel, ConfigModel)
