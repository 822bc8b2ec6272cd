"""The IAM probe judges AWS calls as IAM would: a call the function's role does not allow is
reported, an allowed one is not. (The suite-wide check runs in tests/conftest.py.)"""

from __future__ import annotations

from infra.iam_probe import Call, check, requests_of
from infra.template import load_wiring

TABLE = "arn:aws:dynamodb:eu-central-1:123456789012:table/{}"


def canon(physical: str) -> str:
    return {"leadflow-LeadsTable": "LeadsTable", "leadflow-MetricsTable": "MetricsTable",
            "leads@example.com": "SenderEmail", "leadflow-dev": "EventBus"}.get(physical, physical)


def test_a_transaction_needs_the_item_action_on_every_table_it_touches():
    needs = requests_of("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "leadflow-LeadsTable", "Item": {}}},
        {"Update": {"TableName": "leadflow-MetricsTable", "Key": {}}},
        {"ConditionCheck": {"TableName": "leadflow-LeadsTable", "Key": {}}},
    ]}, canon)
    assert needs == [("dynamodb:PutItem", TABLE.format("LeadsTable")),
                     ("dynamodb:UpdateItem", TABLE.format("MetricsTable")),
                     ("dynamodb:ConditionCheckItem", TABLE.format("LeadsTable"))]


def test_a_query_on_an_index_needs_the_index_resource():
    needs = requests_of("dynamodb", "Query", {"TableName": "leadflow-LeadsTable", "IndexName": "by_stage"}, canon)
    assert needs == [("dynamodb:Query", TABLE.format("LeadsTable") + "/index/by_stage")]


def test_a_mail_needs_the_sender_identity():
    needs = requests_of("ses", "SendRawEmail", {"Source": "Leadflow <leads@example.com>", "RawMessage": {}}, canon)
    assert needs == [("ses:SendRawEmail", "arn:aws:ses:eu-central-1:123456789012:identity/SenderEmail")]


def test_calls_outside_the_policy_are_reported_and_allowed_ones_are_not():
    wiring = load_wiring(parameters={"Stage": "dev"})
    allowed = Call("CaptureFunction", "dynamodb:PutItem", TABLE.format("LeadsTable"))
    no_action = Call("CaptureFunction", "events:PutEvents",
                     "arn:aws:events:eu-central-1:123456789012:event-bus/EventBus")
    other_table = Call("CaptureFunction", "dynamodb:PutItem", TABLE.format("RoutingTable"))
    read_only = Call("CaptureFunction", "dynamodb:PutItem", TABLE.format("ConfigTable"))
    other_sender = Call("NurtureSweepFunction", "ses:SendRawEmail",
                        "arn:aws:ses:eu-central-1:123456789012:identity/someone@else.example")

    report = check({allowed, no_action, other_table, read_only, other_sender}, wiring)

    assert report.denied == sorted([no_action, other_table, read_only, other_sender],
                                   key=lambda c: (c.function, c.action, c.resource))
    assert "NOT PERMITTED  CaptureFunction: events:PutEvents" in report.text()


def test_grants_no_call_used_are_listed():
    wiring = load_wiring(parameters={"Stage": "dev"})
    report = check({Call("CaptureFunction", "dynamodb:PutItem", TABLE.format("LeadsTable"))}, wiring)
    assert "table/LeadsTable" not in report.unused["CaptureFunction"]
    assert "table/MetricsTable" in report.unused["CaptureFunction"]


def test_reading_the_keys_parameter_needs_that_parameter():
    needs = requests_of("ssm", "GetParameter", {"Name": "/leadflow/keys", "WithDecryption": True},
                        lambda name: {"leadflow/keys": "KeysParameterName"}.get(name, name))
    assert needs == [("ssm:GetParameter", "arn:aws:ssm:eu-central-1:123456789012:parameter/KeysParameterName")]
    wiring = load_wiring(parameters={"Stage": "dev"})
    report = check({Call("CaptureFunction", *needs[0]), Call("RouteFunction", *needs[0])}, wiring)
    assert [c.function for c in report.denied] == ["RouteFunction"]
