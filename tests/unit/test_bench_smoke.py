"""The benchmark's request counter counts what DynamoDB would bill (tests/bench/counting.py),
and its faster moto transactions still roll back (tests/bench/fastmoto.py). No timing."""

from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def table():
    from moto import mock_aws

    from tests.bench import counting, fastmoto

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-central-1")
        ddb.create_table(TableName="leadflow-LeadsTable", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "lead_id", "AttributeType": "S"},
                                               {"AttributeName": "stage", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "lead_id", "KeyType": "HASH"}],
                         GlobalSecondaryIndexes=[{"IndexName": "by_stage", "Projection": {"ProjectionType": "ALL"},
                                                  "KeySchema": [{"AttributeName": "stage", "KeyType": "HASH"}]}])
        try:
            yield ddb
        finally:
            counting.uninstall()
            fastmoto.uninstall()


def test_counts_requests_items_and_request_units(table):
    from tests.bench.counting import counting, item_size

    big = "x" * 1500  # a 1.5 KB item: 2 WRU to write, 1 RRU to read consistently
    with counting() as log:
        table.put_item(TableName="leadflow-LeadsTable", Item={"lead_id": {"S": "a"}, "stage": {"S": "LEAD"},
                                                              "blob": {"S": big}})
        table.get_item(TableName="leadflow-LeadsTable", Key={"lead_id": {"S": "a"}}, ConsistentRead=True)
        table.get_item(TableName="leadflow-LeadsTable", Key={"lead_id": {"S": "missing"}})
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "leadflow-LeadsTable", "Item": {"lead_id": {"S": "b"}}}},
            {"Update": {"TableName": "leadflow-LeadsTable", "Key": {"lead_id": {"S": "a"}},
                        "UpdateExpression": "SET stage = :s", "ExpressionAttributeValues": {":s": {"S": "MQL"}}}},
        ])
        boto3.client("sqs", region_name="eu-central-1").list_queues()
    assert log.dynamodb == 4 and log.count("sqs") == 1
    assert log.kinds() == {"PutItem(Leads)": 1, "GetItem(Leads)": 2, "TransactWriteItems[2](Leads)": 1}
    put, hit, miss, tx = log.of("dynamodb")
    assert (put.wru, put.gsi_wru) == (2, 2)  # the item, and its entry in the ALL-projection index
    assert (hit.rru, miss.rru) == (1.0, 0.5)  # consistent read of 1.5 KB; an eventually consistent miss
    # transactional: 2 x (1 KB new item + 2 KB updated item); the index entry moves (delete + put)
    assert (tx.items, tx.wru, tx.gsi_wru) == (2, 6, 4)
    assert item_size({"lead_id": {"S": "b"}}) == len("lead_id") + 1


def test_failed_transaction_still_leaves_nothing_behind(table):
    from tests.bench import fastmoto

    fastmoto.install()
    table.put_item(TableName="leadflow-LeadsTable", Item={"lead_id": {"S": "a"}, "stage": {"S": "LEAD"}})
    with pytest.raises(table.exceptions.TransactionCanceledException):
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "leadflow-LeadsTable", "Item": {"lead_id": {"S": "new"}}}},
            {"Update": {"TableName": "leadflow-LeadsTable", "Key": {"lead_id": {"S": "a"}},
                        "UpdateExpression": "SET stage = :s", "ExpressionAttributeValues": {":s": {"S": "MQL"}}}},
            {"Put": {"TableName": "leadflow-LeadsTable", "Item": {"lead_id": {"S": "c"}},
                     "ConditionExpression": "attribute_exists(lead_id)"}},  # fails: all or nothing
        ])
    items = table.scan(TableName="leadflow-LeadsTable")["Items"]
    assert items == [{"lead_id": {"S": "a"}, "stage": {"S": "LEAD"}}]


def test_volume_copies_are_leads_of_their_own_that_the_indexes_find(table):
    """The volume benchmark's stored leads (tests/bench/volume.py): each copy has a new id and its
    own marker keys, and the emulator's index queries see the imported copies."""
    from moto.dynamodb.models import dynamodb_backends

    from infra.emulator import fast_dynamodb
    from tests.bench.volume import _fill, _items_of

    fast_dynamodb()
    template = "01m8y7ns7r7a3760fw6a2fzs7k"
    table.put_item(TableName="leadflow-LeadsTable", Item={"lead_id": {"S": template}, "stage": {"S": "MQL"},
                                                          "owner": {"M": {"team": {"S": "dach"}}}})
    table.put_item(TableName="leadflow-LeadsTable", Item={"lead_id": {"S": "email#" + "ab" * 32},
                                                          "ref": {"S": "lead#" + template}})
    assert len(table.query(TableName="leadflow-LeadsTable", IndexName="by_stage", KeyConditionExpression="stage = :s",
                           ExpressionAttributeValues={":s": {"S": "MQL"}})["Items"]) == 1
    backend = dynamodb_backends["123456789012"]["eu-central-1"]
    assert _fill(backend, _items_of(backend, [template]), 3) == 6

    leads = table.query(TableName="leadflow-LeadsTable", IndexName="by_stage", KeyConditionExpression="stage = :s",
                        ExpressionAttributeValues={":s": {"S": "MQL"}})["Items"]
    ids = {item["lead_id"]["S"] for item in leads}
    assert len(ids) == 4 and template in ids and all(len(i) == 26 for i in ids)
    assert all(item["owner"] == {"M": {"team": {"S": "dach"}}} for item in leads)
    markers = [i for i in table.scan(TableName="leadflow-LeadsTable")["Items"] if i["lead_id"]["S"].startswith("email#")]
    assert len({m["lead_id"]["S"] for m in markers}) == 4  # a marker of its own per copy
    assert {m["ref"]["S"].removeprefix("lead#") for m in markers} == ids
