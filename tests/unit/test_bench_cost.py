"""The benchmark's cost model (tests/bench/cost.py) follows template.yaml and costs what an
operation causes through the outbox stream. No timing: figures are made up here."""

from __future__ import annotations

import pytest

from tests.bench.cost import (
    DEFAULT_SAMPLING,
    MONTH_MINUTES,
    SQS_LONG_POLL_S,
    SQS_POLLERS,
    Mix,
    TemplateFacts,
    estimate,
    sampled_traces,
    sampling_of,
    template_facts,
)
from tests.bench.counting import Call, RequestLog
from tests.bench.operations import FollowUp, OpResult


def test_sampling_comes_from_the_templates_rule_else_the_default():
    rule = {"Type": "AWS::XRay::SamplingRule", "Properties": {"SamplingRule": {
        "RuleName": "leadflow", "Priority": 100, "FixedRate": 0.01, "ReservoirSize": 0, "ServiceName": "*"}}}
    sampling = sampling_of({"Sampling": rule, "Other": {"Type": "AWS::SQS::Queue"}})
    assert (sampling.rule, sampling.reservoir_per_s, sampling.fixed_rate) == ("leadflow", 0, 0.01)
    assert sampled_traces(100_000, sampling) == pytest.approx(1_000)

    assert sampling_of({"Other": {"Type": "AWS::SQS::Queue"}}) == DEFAULT_SAMPLING
    # the default 1/s reservoir keeps nearly every one of few requests, and 5 % of a flood
    assert sampled_traces(100_000, DEFAULT_SAMPLING) > 95_000
    flood = 100 * MONTH_MINUTES * 60  # 100 a second
    assert sampled_traces(flood, DEFAULT_SAMPLING) == pytest.approx(MONTH_MINUTES * 60 + 0.05 * 99 * MONTH_MINUTES * 60,
                                                                    rel=1e-3)


def test_template_facts_are_the_templates_mappings_and_alarms():
    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    facts = template_facts(wiring)
    assert sorted(facts.sqs_mappings) == sorted((s.function, s.queue) for s in wiring.subscriptions)
    assert sorted((f, t) for f, t, _, _ in facts.stream_mappings) == sorted((s.function, s.table)
                                                                          for s in wiring.streams)
    assert facts.alarms == sorted(wiring.resources_of_type("AWS::CloudWatch::Alarm"))
    assert facts.memory.keys() == wiring.functions.keys()


def _facts(sqs: int) -> TemplateFacts:
    return TemplateFacts(memory={"CaptureFunction": 512, "CountersFunction": 512, "RelayFunction": 512},
                         schedules={}, traced={"CaptureFunction"}, alarms=["A", "B", "C"],
                         sqs_mappings=[(f"F{n}", f"Q{n}") for n in range(sqs)],
                         stream_mappings=[("CountersFunction", "OutboxTable", 1000, 5.0),
                                          ("RelayFunction", "OutboxTable", 100, 1.0)])


def _capture() -> OpResult:
    own = RequestLog([Call("dynamodb", "TransactWriteItems", ("Leads", "Outbox"), items=3, wru=10.0)])
    counters = RequestLog([Call("dynamodb", "TransactWriteItems", ("Metrics",), items=20, wru=40.0)])
    relay = RequestLog([Call("sqs", "SendMessage"), Call("events", "PutEvents", items=2)])
    return OpResult("capture (POST /leads)", "CaptureFunction", own, 0.004, 0.0, 100, apigw=True, follow_ups=[
        FollowUp("CountersFunction", 1, counters, 0.008, 0.0, 100), FollowUp("RelayFunction", 1, relay, 0.001, 0.0, 50)])


def test_an_operation_costs_the_stream_consumer_invocations_it_causes():
    report = estimate({"capture (POST /leads)": _capture()}, facts=_facts(2), cold_ms={},
                      storage_bytes_per_lead=0, handlers=[], mix=Mix(leads=1_000))
    lines = {line.component: line for line in report.variable}
    assert report.per_function["CountersFunction"]["invocations"] == 1_000
    assert report.per_function["RelayFunction"]["invocations"] == 1_000
    assert lines["DynamoDB writes: the operations"].quantity == 10_000
    consumers = next(line for name, line in lines.items() if name.startswith("DynamoDB writes: stream consumers"))
    assert consumers.quantity == 40_000
    assert lines["EventBridge events"].quantity == 2_000  # billed per event, not per PutEvents
    assert lines["SQS requests"].quantity == 3_000  # the relay's send, its receive and delete
    requests = next(line for name, line in lines.items() if name.startswith("Lambda requests: stream consumers"))
    assert requests.quantity == 2_000


def test_fixed_cost_follows_the_number_of_sqs_mappings_and_alarms():
    two = estimate({}, facts=_facts(2), cold_ms={}, storage_bytes_per_lead=0, handlers=[])
    five = estimate({}, facts=_facts(5), cold_ms={}, storage_bytes_per_lead=0, handlers=[])

    def line(report, start):
        return next(x for x in report.fixed if x.component.startswith(start))

    per_mapping = SQS_POLLERS * 60 / SQS_LONG_POLL_S * MONTH_MINUTES
    assert line(two, "SQS idle long polling").quantity == 2 * per_mapping
    assert line(five, "SQS idle long polling").quantity == 5 * per_mapping
    assert line(five, "CloudWatch alarms").quantity == 3
    assert line(five, "DynamoDB stream polling").usd == 0
