"""The emulator's faster DynamoDB (infra.emulator.fast_dynamodb) answers as moto does.

Transactions keep an undo log instead of a table copy, and queries read one partition or one index
value instead of sorting the whole table. Here: a cancelled transaction changes nothing (items,
index and table queries, stream records, the table object a stream reader holds), a successful one
is applied, and after any sequence of writes every index query answers what a scan says it must.
"""

from __future__ import annotations

import random

import boto3
import pytest

TABLE = "leadflow-EmulatorTable"


@pytest.fixture
def ddb():
    from moto import mock_aws

    from infra.emulator import fast_dynamodb

    fast_dynamodb()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                                  for a in ("pk", "sk", "stage", "stage_sort", "owner_id")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "by_stage", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "stage", "KeyType": "HASH"},
                               {"AttributeName": "stage_sort", "KeyType": "RANGE"}]},
                {"IndexName": "by_owner", "Projection": {"ProjectionType": "KEYS_ONLY"},
                 "KeySchema": [{"AttributeName": "owner_id", "KeyType": "HASH"}]}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        yield client


def item(pk, sk="lead", **attrs):
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def stage_query(ddb, stage, **extra):
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=TABLE, IndexName="by_stage", KeyConditionExpression="stage = :s",
                         ExpressionAttributeValues={":s": {"S": stage}}, **extra, **kwargs)
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return [i for p in pages for i in p]


def owner_keys(ddb, owner):
    page = ddb.query(TableName=TABLE, IndexName="by_owner", KeyConditionExpression="owner_id = :o",
                     ExpressionAttributeValues={":o": {"S": owner}})
    return sorted((i["pk"]["S"], i["sk"]["S"]) for i in page["Items"])


def everything(ddb):
    return sorted(ddb.scan(TableName=TABLE)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def stream_records(ddb):
    """What moto's stream shard holds for the table (what a stream reader gets)."""
    return [(r.record["eventName"], r.record["dynamodb"]["Keys"]["pk"]["S"]) for r in moto_table().stream_shard.items]


def moto_table():
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["eu-central-1"].tables[TABLE]


def seed(ddb):
    ddb.put_item(TableName=TABLE, Item=item("a", stage="LEAD", stage_sort="1", owner_id="rep1"))
    ddb.put_item(TableName=TABLE, Item=item("b", stage="MQL", stage_sort="2", owner_id="rep1"))
    ddb.put_item(TableName=TABLE, Item=item("a", "history#1", note="captured"))


def test_a_cancelled_transaction_changes_no_item_no_query_answer_and_no_stream_record(ddb):
    seed(ddb)
    assert [i["pk"]["S"] for i in stage_query(ddb, "LEAD")] == ["a"]  # the index map exists before
    table, shard = moto_table(), moto_table().stream_shard
    before = (everything(ddb), stage_query(ddb, "LEAD"), stage_query(ddb, "MQL"), owner_keys(ddb, "rep1"),
              owner_keys(ddb, "rep2"), stream_records(ddb))

    with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("c", stage="LEAD", stage_sort="0", owner_id="rep2")}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"S": "lead"}},
                        "UpdateExpression": "SET stage = :m, owner_id = :o REMOVE stage_sort",
                        "ExpressionAttributeValues": {":m": {"S": "MQL"}, ":o": {"S": "rep2"}}}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "b"}, "sk": {"S": "lead"}}}},
            {"Put": {"TableName": TABLE, "Item": item("a", "history#2", note="moved")}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "zzz"}, "sk": {"S": "lead"}},
                                "ConditionExpression": "attribute_exists(pk)"}},  # fails: all or nothing
        ])
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "None", "ConditionalCheckFailed"]

    after = (everything(ddb), stage_query(ddb, "LEAD"), stage_query(ddb, "MQL"), owner_keys(ddb, "rep1"),
             owner_keys(ddb, "rep2"), stream_records(ddb))
    assert after == before
    assert ddb.query(TableName=TABLE, KeyConditionExpression="pk = :a",
                     ExpressionAttributeValues={":a": {"S": "a"}})["Count"] == 2
    # the same table and stream shard objects: a stream reader holding them sees what is stored
    assert moto_table() is table and moto_table().stream_shard is shard


def test_a_transaction_that_names_one_item_twice_is_refused_and_changes_nothing(ddb):
    seed(ddb)
    before = (everything(ddb), stage_query(ddb, "LEAD"), stream_records(ddb))
    with pytest.raises(ddb.exceptions.ClientError, match="multiple operations on one item"):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"S": "lead"}},
                        "UpdateExpression": "SET stage = :m", "ExpressionAttributeValues": {":m": {"S": "MQL"}}}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"S": "lead"}}}},
        ])
    assert (everything(ddb), stage_query(ddb, "LEAD"), stream_records(ddb)) == before


def test_a_successful_transaction_is_applied_to_items_indexes_and_stream(ddb):
    seed(ddb)
    assert owner_keys(ddb, "rep2") == []
    records = len(stream_records(ddb))
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": item("c", stage="LEAD", stage_sort="0", owner_id="rep2")}},
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"S": "lead"}},
                    "UpdateExpression": "SET stage = :m, owner_id = :o",
                    "ExpressionAttributeValues": {":m": {"S": "MQL"}, ":o": {"S": "rep2"}}}},
        {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "b"}, "sk": {"S": "lead"}}}},
    ])
    assert [i["pk"]["S"] for i in stage_query(ddb, "LEAD")] == ["c"]
    assert [i["pk"]["S"] for i in stage_query(ddb, "MQL")] == ["a"]
    assert owner_keys(ddb, "rep1") == []
    assert owner_keys(ddb, "rep2") == [("a", "lead"), ("c", "lead")]
    assert [i["pk"]["S"] for i in everything(ddb)] == ["a", "a", "c"]
    assert stream_records(ddb)[records:] == [("INSERT", "c"), ("MODIFY", "a"), ("REMOVE", "b")]


def test_a_table_query_reads_its_partition_in_order_with_conditions_and_pages(ddb):
    for n in range(12):
        ddb.put_item(TableName=TABLE, Item=item("a", f"history#{n:02d}"))
        ddb.put_item(TableName=TABLE, Item=item("b", f"history#{n:02d}"))
    got, start = [], None
    while True:
        page = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :a AND begins_with(sk, :h)",
                         ExpressionAttributeValues={":a": {"S": "a"}, ":h": {"S": "history#0"}},
                         ScanIndexForward=False, Limit=4, **({"ExclusiveStartKey": start} if start else {}))
        got += [i["sk"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert got == [f"history#{n:02d}" for n in range(9, -1, -1)]
    assert ddb.query(TableName=TABLE, KeyConditionExpression="pk = :x",
                     ExpressionAttributeValues={":x": {"S": "nobody"}})["Items"] == []


def test_index_queries_agree_with_a_scan_after_any_sequence_of_writes(ddb):
    rng = random.Random(12)
    stages, owners, keys = ["LEAD", "MQL", "SAL"], ["rep1", "rep2"], [f"l{n}" for n in range(25)]

    def check():
        stored = everything(ddb)

        def expected(attribute, value):
            return sorted((i["pk"]["S"], i["sk"]["S"]) for i in stored
                          if i.get(attribute, {}).get("S") == value and (attribute != "stage" or "stage_sort" in i))

        for stage in stages:
            answer = stage_query(ddb, stage, Limit=4)
            assert sorted((i["pk"]["S"], i["sk"]["S"]) for i in answer) == expected("stage", stage)
            assert [i["stage_sort"]["S"] for i in answer] == sorted(i["stage_sort"]["S"] for i in answer)
        for owner in owners:
            assert owner_keys(ddb, owner) == expected("owner_id", owner)

    for pk in keys[:10]:
        ddb.put_item(TableName=TABLE, Item=item(pk, stage=rng.choice(stages), stage_sort=pk,
                                                owner_id=rng.choice(owners)))
    check()  # the index maps are built here; from now on they are kept current
    for step in range(60):
        pk = {"pk": {"S": rng.choice(keys)}, "sk": {"S": "lead"}}
        kind = rng.choice(["put", "update", "remove", "delete", "batch", "transact", "cancelled"])
        values = {":s": {"S": rng.choice(stages)}, ":o": {"S": rng.choice(owners)}}
        if kind == "put":
            ddb.put_item(TableName=TABLE, Item=item(pk["pk"]["S"], stage=rng.choice(stages), stage_sort=str(step)))
        elif kind == "update":
            ddb.update_item(TableName=TABLE, Key=pk, UpdateExpression="SET stage = :s, owner_id = :o",
                            ExpressionAttributeValues=values)
        elif kind == "remove":
            ddb.update_item(TableName=TABLE, Key=pk, UpdateExpression="REMOVE owner_id, stage_sort")
        elif kind == "delete":
            ddb.delete_item(TableName=TABLE, Key=pk)
        elif kind == "batch":
            ddb.batch_write_item(RequestItems={TABLE: [
                {"PutRequest": {"Item": item(rng.choice(keys), stage=rng.choice(stages), stage_sort=str(step),
                                             owner_id=rng.choice(owners))}},
                {"DeleteRequest": {"Key": {"pk": {"S": rng.choice(keys[15:])}, "sk": {"S": "lead"}}}}]})
        else:
            actions = [{"Update": {"TableName": TABLE, "Key": pk, "ExpressionAttributeValues": values,
                                   "UpdateExpression": "SET stage = :s, owner_id = :o"}}]
            if kind == "cancelled":
                actions.append({"ConditionCheck": {"TableName": TABLE, "ConditionExpression": "attribute_exists(pk)",
                                                   "Key": {"pk": {"S": "nobody"}, "sk": {"S": "lead"}}}})
            try:
                ddb.transact_write_items(TransactItems=actions)
            except ddb.exceptions.TransactionCanceledException:
                assert kind == "cancelled"
        check()


def test_stream_reads_are_serialised_with_dynamodb_writes_and_sqs_is_not():
    """A GetRecords never runs while a transaction is half applied (it could read records the
    transaction takes back when it is cancelled); SQS long polls must not block DynamoDB."""
    from infra.emulator import _SerialisedDynamoDB

    held = []

    def app(environ, start_response):
        held.append(serialised._lock.locked())
        return [b""]

    serialised = _SerialisedDynamoDB(app)
    for target in ("DynamoDB_20120810.TransactWriteItems", "DynamoDBStreams_20120810.GetRecords",
                   "AmazonSQS.ReceiveMessage"):
        serialised({"HTTP_X_AMZ_TARGET": target}, None)
    assert held == [True, True, False]
