"""template.yaml is the one truth for wiring: it transforms, lints clean, and
everything it names exists and is configured as operations expect."""

from __future__ import annotations

import importlib
import json

import pytest

from infra.template import load_wiring


@pytest.fixture(scope="module")
def wiring():
    return load_wiring(parameters={"Stage": "prod"})


def test_transformed_template_lints_without_errors(wiring):
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(wiring.template), config=ManualArgs(regions=["eu-central-1"]))
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []


EXPECTED_FUNCTIONS = {"CaptureFunction", "QualifyFunction", "NurtureSweepFunction", "TrackFunction",
                      "ScoreFunction", "RouteFunction", "SlaSweepFunction", "TrainFunction", "GraphqlFunction"}


def test_every_product_function_is_declared(wiring):
    assert set(wiring.functions) >= EXPECTED_FUNCTIONS


@pytest.mark.parametrize("name", sorted(load_wiring(parameters={"Stage": "prod"}).functions))
def test_every_handler_the_template_names_imports(wiring, name, aws):
    module_name, attr = wiring.functions[name].handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module_name), attr))


def test_every_queue_consumer_has_a_dlq_and_reports_partial_failures(wiring):
    queues = wiring.resources_of_type("AWS::SQS::Queue")
    assert wiring.subscriptions, "no SQS consumers wired"
    for sub in wiring.subscriptions:
        props = queues[sub.queue]["Properties"]
        assert sub.report_batch_item_failures, sub
        assert "RedrivePolicy" in props, f"{sub.queue} has no DLQ"
        timeout = wiring.functions[sub.function].timeout
        assert int(props["VisibilityTimeout"]) >= 6 * timeout, f"{sub.queue}: visibility < 6x timeout"


def test_tables_are_on_demand_recoverable_and_encrypted(wiring):
    tables = wiring.resources_of_type("AWS::DynamoDB::Table")
    assert len(tables) >= 5
    for name, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
        assert props["SSESpecification"]["SSEEnabled"], name


def test_schedules_bus_and_authorizer_are_declared(wiring):
    scheduled = {s.function for s in wiring.schedules}
    assert {"NurtureSweepFunction", "SlaSweepFunction", "TrainFunction"} <= scheduled
    assert wiring.resources_of_type("AWS::Events::EventBus")
    graphql_post = [r for r in wiring.routes if r.path == "/graphql" and r.method == "POST"]
    assert graphql_post and graphql_post[0].authorizer == "CognitoJwt"


def test_no_function_has_broad_managed_policies(wiring):
    for name, role in wiring.resources_of_type("AWS::IAM::Role").items():
        managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert "FullAccess" not in managed, name
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement.get("Resource") != "*" or statement["Action"] in (
                    ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],), (name, statement)


def test_the_lint_catches_what_the_raw_sam_lint_misses(wiring):
    """Guards the guard: a bad runtime and a dangling GetAtt are reported."""
    import copy

    from cfnlint.api import ManualArgs, lint

    broken = copy.deepcopy(wiring.template)
    broken["Resources"]["CaptureFunction"]["Properties"]["Runtime"] = "python2.1"
    broken["Resources"]["QualifyFunctionIntake"]["Properties"]["EventSourceArn"] = {
        "Fn::GetAtt": ["NoSuchQueue", "Arn"]}
    errors = [m for m in lint(json.dumps(broken), config=ManualArgs(regions=["eu-central-1"]))
              if m.rule.id.startswith("E")]
    assert len(errors) >= 2


def _alarmed_queues(wiring) -> set[str]:
    alarmed = set()
    for alarm in wiring.resources_of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") == "AWS/SQS" and props.get("AlarmActions"):
            for dimension in props.get("Dimensions", []):
                value = dimension["Value"]
                if dimension["Name"] == "QueueName" and "Fn::GetAtt" in value:
                    alarmed.add(value["Fn::GetAtt"][0])
    return alarmed


def test_every_failure_is_seen_by_an_alarm_that_notifies(wiring):
    """Queued work that gives up, a scheduled run that fails, an HTTP request that fails: each
    ends in a place an alarm with an action watches."""
    resources = wiring.resources
    alarmed = _alarmed_queues(wiring)
    dead_letter_queues = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                          for q in wiring.resources_of_type("AWS::SQS::Queue").values()
                          if "RedrivePolicy" in q["Properties"]}
    assert dead_letter_queues and dead_letter_queues <= alarmed, "a dead-letter queue without an alarm"

    on_failure = {}
    for config in wiring.resources_of_type("AWS::Lambda::EventInvokeConfig").values():
        props = config["Properties"]
        target = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        on_failure[props["FunctionName"]["Ref"]] = target
    for schedule in wiring.schedules:
        assert on_failure.get(schedule.function) in alarmed, f"{schedule.function}: a failed run is never seen"

    http_functions = {route.function for route in wiring.routes}
    api_alarms = [a["Properties"] for a in wiring.resources_of_type("AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("Namespace") == "AWS/ApiGateway" and a["Properties"].get("AlarmActions")]
    assert http_functions and any(a["MetricName"] == "5xx" for a in api_alarms), "HTTP failures are never seen"
    assert all(f in resources for f in http_functions)


def test_frequent_schedules_record_no_trace_per_run(wiring):
    """X-Ray costs $5 per million traces: a sweep every minute would record 43,200 a month."""
    for schedule in wiring.schedules:
        tracing = wiring.resources[schedule.function]["Properties"].get("TracingConfig", {}).get("Mode")
        assert tracing == "PassThrough", schedule.function


def test_traces_carry_no_response_or_error_text(wiring):
    """Powertools' tracer stores handler responses and exception messages in X-Ray by default;
    a GraphQL response is a person's data."""
    for name, function in wiring.resources_of_type("AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false", name
        assert variables.get("POWERTOOLS_TRACER_CAPTURE_ERROR") == "false", name


def test_roles_are_cognito_groups_and_no_user_can_write_a_custom_attribute(wiring):
    from leadflow.domain.access import Role

    groups = wiring.resources_of_type("AWS::Cognito::UserPoolGroup").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == sorted(r.value for r in Role)
    assert all(g["Properties"]["UserPoolId"] == {"Ref": "UserPool"} for g in groups)
    (client,) = wiring.resources_of_type("AWS::Cognito::UserPoolClient").values()
    # without WriteAttributes every attribute is writable by the user (UpdateUserAttributes)
    writable = client["Properties"]["WriteAttributes"]
    assert writable and not [a for a in writable if a.startswith("custom:")]
