"""The lead lists' indexes hold keys, not leads (issue 12, points 2 and 9): a change of a lead no
longer rewrites ~6 KB into each index, and a page reads its leads with one BatchGetItem, in the
index's order, skipping a lead that left the list between the two reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from tests.bench.counting import counting, uninstall

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
OWNER = "rep.lean"


def _save(count: int, *, owner: str | None = None, queue: str | None = None, stage: str = "LEAD") -> list[str]:
    from leadflow.store.leads import at_iso
    from leadflow.store.models import LeadModel

    ids = []
    for n in range(count):
        lead_id = f"01lean{n:04d}"
        at = T0 + timedelta(minutes=n)
        sort = f"{at_iso(at)}#{lead_id}"
        extra = {"owner_id": owner, "owner_sort": f"{stage}#{sort}"} if owner else {}
        if queue:
            extra |= {"queue_manager": queue, "created_sort": sort}
        LeadModel(lead_id, stage=stage, stage_sort=sort, stage_entered_at=at, created_at=at, updated_at=at,
                  email=f"{lead_id}@example.com", company="Lean GmbH", **extra).save()
        ids.append(lead_id)
    return ids


def test_an_index_query_returns_only_the_keys_so_pages_read_the_leads(aws):
    from leadflow.store.models import LeadModel

    _save(2, owner=OWNER)
    page = boto3.client("dynamodb", region_name="eu-central-1").query(
        TableName=LeadModel.Meta.table_name, IndexName="by_owner", KeyConditionExpression="owner_id = :o",
        ExpressionAttributeValues={":o": {"S": OWNER}})
    assert page["Items"] and all(set(item) == {"lead_id", "owner_id", "owner_sort"} for item in page["Items"])
    stage = boto3.client("dynamodb", region_name="eu-central-1").scan(
        TableName=LeadModel.Meta.table_name, IndexName="by_stage")["Items"]
    assert stage and all("email" not in item and "company" not in item for item in stage)


def test_a_reps_page_is_full_leads_in_index_order_with_one_batch_get(aws):
    from leadflow.store import lead_lists

    ids = _save(7, owner=OWNER)
    seen, after = [], None
    try:
        with counting() as log:
            items, after = lead_lists.owner_page(OWNER, None, 4, None)
        assert log.kinds() == {"Query(Leads)": 1, "BatchGetItem[4](Leads)": 1}
    finally:
        uninstall()
    seen += items
    while after:
        items, after = lead_lists.owner_page(OWNER, None, 4, after)
        seen += items
    assert [lead.lead_id for lead in seen] == ids[::-1]  # newest first, as before
    assert all(lead.email == f"{lead.lead_id}@example.com" and lead.company == "Lean GmbH" for lead in seen)


def test_every_list_reads_full_leads_in_its_order(aws):
    from leadflow.store import lead_lists
    from leadflow.store.models import LeadModel, review_key

    ids = _save(5, queue="manager.lean")
    for lead_id in ids:
        LeadModel(lead_id).update(actions=[LeadModel.review_queue.set(review_key(lead_id)),
                                           LeadModel.review_sort.set(f"{lead_id}")])
    lists = {
        "stage": [lead.email for lead in lead_lists.leads_in_stage("LEAD", 10, None)[0]],
        "stage pages": [lead.email for lead in lead_lists.stage_pages("LEAD", None, page_size=2)],
        "review": [lead.email for lead in lead_lists.review_page(10, None)[0]],
        "review pages": [lead.email for lead in lead_lists.review_pages(None, page_size=2)],
        "manager queue": [lead.email for lead in lead_lists.manager_queue_page("manager.lean", 10, None)[0]],
        "in stage": [lead.email for lead in lead_lists.in_stage("LEAD")],
    }
    newest_first = [f"{i}@example.com" for i in reversed(ids)]
    oldest_first = newest_first[::-1]
    assert lists == {"stage": newest_first, "stage pages": newest_first, "review": oldest_first,
                     "review pages": oldest_first, "manager queue": oldest_first, "in stage": oldest_first}


def test_a_lead_that_left_the_list_between_the_two_reads_is_skipped(aws, monkeypatch):
    from leadflow.store import lead_lists
    from leadflow.store.models import LeadModel

    ids = _save(5, owner=OWNER)
    original = LeadModel.batch_get.__func__

    def batch_get(cls, keys, **kwargs):  # between the Query and the BatchGetItem
        LeadModel.get(ids[1]).delete()
        LeadModel(ids[3]).update(actions=[LeadModel.owner_id.set("someone.else")])
        return original(cls, keys, **kwargs)

    monkeypatch.setattr(LeadModel, "batch_get", classmethod(batch_get))
    items, _ = lead_lists.owner_page(OWNER, None, 5, None)
    assert [lead.lead_id for lead in items] == [ids[4], ids[2], ids[0]]


def test_sweeps_read_only_the_index(aws):
    from leadflow.store import lead_lists
    from leadflow.store.models import LeadModel

    ids = _save(3, stage="DISQUALIFIED")
    LeadModel(ids[0]).update(actions=[LeadModel.erased_at.set(T0)])
    try:
        with counting() as log:
            found = [lead.lead_id for lead in lead_lists.retention_candidates("DISQUALIFIED", "2026-01-01", 10)]
            closed = [(lead.lead_id, lead.stage) for lead in lead_lists.closed_leads(
                "DISQUALIFIED", attributes_to_get=["lead_id", "stage", "stages_reached"])]
        assert "BatchGetItem" not in " ".join(log.kinds())  # what they need is in the index
    finally:
        uninstall()
    assert found == ids[1:]  # the erased one filtered in the Query (erased_at is in the index)
    assert closed == [(i, "DISQUALIFIED") for i in ids]


def test_a_batch_job_reading_more_than_the_index_holds_gets_just_those_attributes(aws):
    from leadflow.store import lead_lists

    ids = _save(3, stage="CUSTOMER")
    try:
        with counting() as log:
            leads = list(lead_lists.closed_leads("CUSTOMER", attributes_to_get=["lead_id", "company"]))
        assert log.kinds() == {"Query(Leads)": 8, "BatchGetItem[3](Leads)": 1}
    finally:
        uninstall()
    assert [(lead.lead_id, lead.company, lead.email) for lead in leads] == [(i, "Lean GmbH", None) for i in ids]
