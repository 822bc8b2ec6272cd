"""The by_stage and by_review indexes are sharded (no lead list on one hot index partition), and
every list read through them merges the shards: complete, in order, bounded, cursors checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _save_leads(count: int, stage: str = "LEAD", review: bool = False) -> list[str]:
    """Leads written as a put writes them (the model adds the by_stage key); one a minute apart."""
    from leadflow.store.leads import at_iso
    from leadflow.store.models import LeadModel, review_key

    ids = []
    for n in range(count):
        lead_id = f"01sharded{n:04d}"
        at = T0 + timedelta(minutes=n)
        extra = {"review_queue": review_key(lead_id), "review_sort": f"{at_iso(at)}#{lead_id}"} if review else {}
        LeadModel(lead_id, stage=stage, stage_sort=f"{at_iso(at)}#{lead_id}", stage_entered_at=at,
                  created_at=at, updated_at=at, **extra).save()
        ids.append(lead_id)
    return ids


def _index_partitions(index: str, key: str) -> set[str]:
    table = boto3.client("dynamodb", region_name="eu-central-1")
    from leadflow.store.models import LeadModel

    items = table.scan(TableName=LeadModel.Meta.table_name, IndexName=index)["Items"]
    return {item[key]["S"] for item in items}


def _counting(monkeypatch, index) -> list[str]:
    """Record the partition of every Query of that index."""
    calls: list[str] = []
    original = type(index).query

    def query(self, partition, *args, **kwargs):
        calls.append(partition)
        return original(self, partition, *args, **kwargs)

    monkeypatch.setattr(type(index), "query", query)
    return calls


def test_the_leads_of_a_stage_are_spread_over_its_index_shards(aws):
    from leadflow.store.models import STAGE_SHARDS, stage_key

    ids = _save_leads(40)
    partitions = _index_partitions("by_stage", "stage_shard")
    assert partitions == {stage_key("LEAD", lead_id) for lead_id in ids}
    assert "LEAD" not in partitions and len(partitions) > STAGE_SHARDS // 2  # not one hot partition
    assert partitions <= {f"LEAD#{n}" for n in range(STAGE_SHARDS)}


def test_a_stage_pages_newest_first_across_shards_with_one_query_per_shard(aws, monkeypatch):
    from leadflow.store import lead_lists
    from leadflow.store.models import STAGE_SHARDS, LeadModel

    ids = _save_leads(23)
    calls = _counting(monkeypatch, LeadModel.by_stage)
    seen, after, pages = [], None, 0
    while True:
        before = len(calls)
        items, after = lead_lists.leads_in_stage("LEAD", 5, after)
        assert len(calls) - before <= STAGE_SHARDS  # bounded: one Query per shard and page
        pages += 1
        seen += [item.lead_id for item in items]
        if after is None:
            break
    assert seen == list(reversed(ids)) and pages == 5


def test_a_stage_change_moves_the_lead_to_the_new_stage_s_shard(aws):
    from leadflow.domain.lifecycle import Stage
    from leadflow.services import lifecycle
    from leadflow.store import lead_lists
    from leadflow.store.leads import get_lead
    from leadflow.store.models import stage_key

    [lead_id] = _save_leads(1)
    moved = lifecycle.transition(get_lead(lead_id), Stage.DISQUALIFIED, actor="test", reason="spam")
    stored = get_lead(lead_id)
    assert stored.stage_shard == moved.stage_shard == stage_key("DISQUALIFIED", lead_id)
    assert [m.lead_id for m in lead_lists.leads_in_stage("DISQUALIFIED", 10, None)[0]] == [lead_id]
    assert lead_lists.leads_in_stage("LEAD", 10, None) == ([], None)


def test_the_review_queue_is_sharded_and_pages_oldest_first(aws, monkeypatch):
    from leadflow.store import lead_lists
    from leadflow.store.leads import get_lead
    from leadflow.store.models import REVIEW_SHARDS, LeadModel

    ids = _save_leads(11, review=True)
    assert len(_index_partitions("by_review", "review_queue")) > 1
    assert all(lead_lists.in_review(get_lead(lead_id)) for lead_id in ids)
    calls = _counting(monkeypatch, LeadModel.by_review)
    seen, after = [], None
    while True:
        before = len(calls)
        items, after = lead_lists.review_page(4, after)
        assert len(calls) - before <= REVIEW_SHARDS
        seen += [item.lead_id for item in items]
        if after is None:
            break
    assert seen == ids
    assert [item.lead_id for item in lead_lists.review_pages(None, page_size=3)] == ids


@pytest.mark.parametrize("forged", ["unsharded partition", "another stage's shard", "a shard beyond N"])
def test_a_cursor_naming_a_partition_outside_the_stage_s_shards_is_refused(aws, forged):
    from leadflow.domain.errors import InvalidInput
    from leadflow.store import lead_lists
    from leadflow.store.leads import encode_cursor

    partition = {"unsharded partition": "LEAD", "another stage's shard": "MQL#1", "a shard beyond N": "LEAD#99"}
    cursor = encode_cursor({"lead_id": {"S": "01x"}, "stage_shard": {"S": partition[forged]},
                            "stage_sort": {"S": "2025-03-01T09:00:00.000+00:00#01x"}})
    with pytest.raises(InvalidInput) as refused:
        lead_lists.leads_in_stage("LEAD", 5, cursor)
    assert refused.value.field == "after"
    old_shape = encode_cursor({"lead_id": {"S": "01x"}, "stage": {"S": "LEAD"}, "stage_sort": {"S": "x"}})
    with pytest.raises(InvalidInput):
        lead_lists.leads_in_stage("LEAD", 5, old_shape)


def test_retention_and_the_unrouted_sweep_find_leads_in_every_shard(aws):
    from leadflow.store import lead_lists
    from leadflow.store.routing import unrouted_pages

    ids = _save_leads(20, stage="MQL")
    found = [lead.lead_id for lead in lead_lists.retention_candidates("MQL", "2025-03-01T09:10", limit=100)]
    assert found == ids[:10]  # oldest first, merged over the shards
    assert len(list(lead_lists.retention_candidates("MQL", "2025-03-02", limit=7))) == 7
    unrouted = [lead_id for page in unrouted_pages("2025-03-01", "2025-03-02", 3) for lead_id in page]
    assert sorted(unrouted) == ids
