"""Nothing lost, nothing doubled: faults injected at the AWS calls of the nurture sweep, its
per-lead workers, the DOI confirmation, the unsubscribe, and the intake sweep.

Faults are injected where the SDK meets AWS (botocore's one API-call method), as on AWS:
SES throttling one address, no answer from SES, a worker that dies mid-send, a DynamoDB error
at the confirmation's write, and concurrent writers on a consent ledger."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.bench.harness import lead_body
from tests.integration.test_nurturing import confirm_link, consent_status, mails, post_form, sweep, track
from tests.integration.test_qualification import capture, drain_intake

Fault = Callable[[str, dict[str, Any]], BaseException | None]


@contextmanager
def aws_fault(fault: Fault):
    """While active, every AWS call goes through `fault(operation, params)` first: an exception it
    returns is raised instead of the call (nothing reaches AWS)."""
    original = botocore.client.BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        error = fault(operation, params)
        if error is not None:
            raise error
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = call
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original


def ses_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Maximum sending rate exceeded."}}, "SendRawEmail")


def to(params: dict[str, Any]) -> list[str]:
    return params.get("Destinations", [])


def confirmed_leads(aws, n: int, tag: str) -> list[tuple[str, str]]:
    """n leads with confirmed double opt-in: [(lead id, address)], each waiting for its welcome mail."""
    bodies = [lead_body(i, consent=True, tag=tag) for i in range(n)]
    ids = [capture(body) for body in bodies]
    drain_intake(aws)
    for body in bodies:
        assert post_form(confirm_link(body["email"]))["statusCode"] == 200
    return list(zip(ids, (b["email"] for b in bodies), strict=True))


def welcome_mails(address: str) -> list:
    return [m for m in mails(address) if "/consent/confirm" not in m.html]


def runs(lead_id: str) -> list[dict]:
    from leadflow.store.nurture import journey_state

    return journey_state(lead_id)[0].get("runs", [])


# ----------------------------------------------------------------- nurture sweep and workers

def test_a_throttled_lead_gets_its_mail_later_exactly_once_and_the_others_at_once(aws):
    (_, a_mail), (b, b_mail), (_, c_mail) = confirmed_leads(aws, 3, "thr")
    now = datetime.now(UTC)
    throttled = {"on": True}

    def throttle_b(operation: str, params: dict[str, Any]) -> BaseException | None:
        if operation == "SendRawEmail" and b_mail in to(params) and throttled["on"]:
            return ses_error("Throttling")
        return None

    with aws_fault(throttle_b):
        summary = sweep(now)
        assert summary["due"] == 3 and summary["enqueued"] == 3 and summary["failedMessages"] == 0
        assert len(welcome_mails(a_mail)) == len(welcome_mails(c_mail)) == 1  # the others were not held up
        assert welcome_mails(b_mail) == []
        assert runs(b) == []  # nothing recorded as sent: SES refused it
        sweep(now + timedelta(seconds=20))  # not before its retry time: SES is not asked again yet
        assert welcome_mails(b_mail) == []
        throttled["on"] = False
        for minutes in (3, 4, 30):
            sweep(now + timedelta(minutes=minutes))
    assert len(welcome_mails(b_mail)) == 1
    assert [(r["step_id"], r["outcome"]) for r in runs(b)] == [("welcome", "sent")]
    assert runs(b)[0].get("message_id") == welcome_mails(b_mail)[0].message_id
    assert len(welcome_mails(a_mail)) == len(welcome_mails(c_mail)) == 1


def test_no_answer_from_ses_is_recorded_as_unknown_and_not_sent_again(aws):
    [(lead_id, address)] = confirmed_leads(aws, 1, "tmo")
    now = datetime.now(UTC)

    def timeout(operation: str, params: dict[str, Any]) -> BaseException | None:
        if operation == "SendRawEmail" and address in to(params):
            return ReadTimeoutError(endpoint_url="https://email.eu-central-1.amazonaws.com")
        return None

    with aws_fault(timeout):
        assert sweep(now)["failedMessages"] == 0
    [run] = runs(lead_id)
    assert run["step_id"] == "welcome" and run["outcome"] == "unknown" and "no answer from SES" in run["why"]
    sweep(now + timedelta(minutes=10))
    assert [r["step_id"] for r in runs(lead_id)].count("welcome") == 1  # at most once: never tried again


def test_a_worker_dying_mid_send_fails_only_its_message_and_the_step_is_not_repeated(aws):
    (a, a_mail), (b, b_mail) = confirmed_leads(aws, 2, "die")
    now = datetime.now(UTC)

    def dies(operation: str, params: dict[str, Any]) -> BaseException | None:
        if operation == "SendRawEmail" and b_mail in to(params):
            return RuntimeError("the worker's invocation ended here")  # after the intent, before SES
        return None

    with aws_fault(dies):
        summary = sweep(now)
    assert summary["failedMessages"] == 1  # b's message only: it comes back (or goes to the DLQ)
    assert len(welcome_mails(a_mail)) == 1 and runs(a)[0]["outcome"] == "sent"
    from leadflow.store.nurture import journey_state

    assert journey_state(b)[0]["sending"]["step_id"] == "welcome"  # the intent, recorded before SES
    sweep(now + timedelta(minutes=1))  # the redelivery within the lease changes nothing
    assert runs(b) == [] and welcome_mails(b_mail) == []
    sweep(now + timedelta(minutes=6))  # the lease is over: the worker is gone, the outcome unknown
    assert [(r["step_id"], r["outcome"]) for r in runs(b)] == [("welcome", "unknown")]
    assert welcome_mails(b_mail) == []  # not sent again: at most once per step


def test_the_sweep_stops_at_its_deadline_and_the_next_one_queues_the_rest(aws, monkeypatch):
    import time

    from leadflow.services import nurture

    leads = confirmed_leads(aws, 5, "ddl")
    now = datetime.now(UTC)
    monkeypatch.setattr(nurture, "SWEEP_PAGE", 1)
    first = nurture.enqueue_due(now, deadline=time.monotonic())  # out of time after the first page
    assert first["due"] == first["enqueued"] == 1 and first["stoppedAtDeadline"] == 1
    second = sweep(now)  # all five; the first one's lead is queued twice and still mailed once
    assert second["due"] == second["enqueued"] == 5 and "stoppedAtDeadline" not in second
    assert all(len(welcome_mails(address)) == 1 for _, address in leads)
    assert sweep(now)["due"] == 0


def test_a_letter_step_whose_worker_died_before_recording_it_makes_one_task(aws):
    from functions.graphql_api import handler as gql
    from tests.helpers import graphql
    from tests.integration.test_nurturing import publish_letter_journey

    publish_letter_journey()
    lead_id = capture({**lead_body(0, consent=False, tag="ltr"), "consent": {"purposes": ["post"], "textVersion": "v1"}})
    drain_intake(aws)
    now = datetime.now(UTC)

    def dies_before_recording(operation: str, params: dict[str, Any]) -> BaseException | None:
        item = params.get("Item") or {}
        if operation == "PutItem" and item.get("sk", {}).get("S") == "journey" and '"task"' in item.get(
                "data", {}).get("S", ""):
            return RuntimeError("the worker's invocation ended after creating the task")
        return None

    with aws_fault(dies_before_recording):
        assert sweep(now)["failedMessages"] == 1
    sweep(now + timedelta(minutes=1))  # the step runs again
    tasks = graphql(gql, "{ tasks { id leadId kind } }", role="marketing")["data"]["tasks"]
    assert [(t["leadId"], t["kind"]) for t in tasks] == [(lead_id, "postal_letter")]  # one letter, not two
    assert [(r["step_id"], r["outcome"]) for r in runs(lead_id)] == [("letter", "task")]


# ----------------------------------------------------------------- DOI confirmation

def test_a_fault_at_the_confirmation_write_leaves_the_link_usable(aws):
    from functions.track import handler  # noqa: F401 - imported before the fault, as on a warm Lambda

    [body] = [lead_body(0, consent=True, tag="doi")]
    lead_id = capture(body)
    drain_intake(aws)
    link = confirm_link(body["email"])
    failed = {"n": 0}

    def fail_consent_writes(operation: str, params: dict[str, Any]) -> BaseException | None:
        writes = [params.get("Item")] if operation == "PutItem" else [
            i.get("Put", {}).get("Item") for i in params.get("TransactItems", [])]
        if any(w and w.get("sk", {}).get("S") == "consent" for w in writes):
            failed["n"] += 1
            return ClientError({"Error": {"Code": "InternalServerError", "Message": "try again"}}, operation)
        return None

    with aws_fault(fail_consent_writes):  # DynamoDB fails the ledger's write during the first click
        try:
            first = post_form(link)
        except Exception:  # noqa: BLE001 - the function failed: API Gateway answers 500
            first = {"statusCode": 500, "body": ""}
    assert failed["n"] >= 1
    assert first["statusCode"] >= 400 and "bestätigt" not in first["body"]  # never success for nothing stored
    assert consent_status(lead_id) == "pending"
    again = post_form(link)  # the link was not spent by the failed click
    assert again["statusCode"] == 200 and "Ihre Anmeldung ist bestätigt" in again["body"]
    assert consent_status(lead_id) == "confirmed"


def test_a_link_spent_without_its_confirmation_by_the_old_code_confirms_on_the_next_click(aws):
    from urllib.parse import parse_qs, urlsplit

    from leadflow.domain.consent import nonce_marker, verify_token
    from leadflow.services.nurture import _verify_keys
    from leadflow.store.models import MarkerModel

    [body] = [lead_body(0, consent=True, tag="old")]
    lead_id = capture(body)
    drain_intake(aws)
    link = confirm_link(body["email"])
    token = parse_qs(urlsplit(link).query)["token"][0]
    key, ttl = nonce_marker(verify_token(token, _verify_keys(), datetime.now(UTC), purpose="doi"))
    MarkerModel(key, lead_id=lead_id, expires_at=ttl).save()  # what a fault between the two writes left
    done = post_form(link)
    assert done["statusCode"] == 200 and "Ihre Anmeldung ist bestätigt" in done["body"]
    assert consent_status(lead_id) == "confirmed"


# ----------------------------------------------------------------- withdrawal under conflicts

def concurrent_ledger_writer(lead_id: str, times: int) -> tuple[Fault, dict[str, int]]:
    """Before each of the next `times` writes of the lead's consent ledger, another writer changes
    that ledger (its version moves on): the write's condition fails, as with a real concurrent writer."""
    table = boto3.client("dynamodb")
    seen = {"writes": 0}

    def fault(operation: str, params: dict[str, Any]) -> BaseException | None:
        writes = [params.get("Item")] if operation == "PutItem" else [
            i.get("Put", {}).get("Item") for i in params.get("TransactItems", [])]
        ledger = [w for w in writes if w and w.get("pk", {}).get("S") == f"lead#{lead_id}"
                  and w.get("sk", {}).get("S") == "consent"]
        if ledger and seen["writes"] < times:
            seen["writes"] += 1
            from leadflow.settings import get_settings

            original(table, "UpdateItem", {
                "TableName": get_settings().nurture_table, "Key": {"pk": {"S": f"lead#{lead_id}"}, "sk": {"S": "consent"}},
                "UpdateExpression": "SET version = version + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}})
        return None

    original = botocore.client.BaseClient._make_api_call
    return fault, seen


@pytest.fixture
def subscribed(aws):
    from leadflow.services.nurture import unsubscribe_url

    [(lead_id, _)] = confirmed_leads(aws, 1, "uns")
    return lead_id, unsubscribe_url(lead_id, 30)


def test_an_unsubscribe_that_meets_concurrent_writers_is_stored_before_it_says_so(subscribed):
    from leadflow.store.nurture import journey_state

    lead_id, url = subscribed
    fault, seen = concurrent_ledger_writer(lead_id, times=7)
    with aws_fault(fault):
        done = post_form(url)
    assert seen["writes"] == 7
    assert done["statusCode"] == 200 and "Sie sind abgemeldet" in done["body"]
    assert consent_status(lead_id) == "withdrawn"
    assert journey_state(lead_id)[0]["unsubscribed_at"]


def test_an_unsubscribe_that_cannot_be_stored_says_so_and_changes_nothing(subscribed):
    from leadflow.store.nurture import journey_state

    lead_id, url = subscribed
    fault, _ = concurrent_ledger_writer(lead_id, times=1000)
    with aws_fault(fault):
        refused = post_form(url)
    assert refused["statusCode"] == 409  # not a 5xx: the page offers the button again
    assert "noch nicht abgemeldet" in refused["body"] and '<form method="post">' in refused["body"]
    assert "Sie sind abgemeldet" not in refused["body"]
    assert consent_status(lead_id) == "confirmed"
    assert not journey_state(lead_id)[0].get("unsubscribed_at")  # never half-written
    again = post_form(url)
    assert again["statusCode"] == 200 and consent_status(lead_id) == "withdrawn"
    assert journey_state(lead_id)[0]["unsubscribed_at"]
    assert track("GET", url)["statusCode"] == 200


# ----------------------------------------------------------------- intake sweep

def test_the_intake_sweep_finds_a_new_stalled_lead_behind_more_than_500_that_gave_up(aws, monkeypatch):
    from leadflow.adapters import clock, queues
    from leadflow.services.intake import MAX_ATTEMPTS, requeue_stalled
    from leadflow.store import intake
    from leadflow.store.models import LeadModel

    start = clock.now() - timedelta(days=2)
    with LeadModel.batch_write() as batch:  # leads that gave up, some stored before the index was sharded
        for n in range(530):
            lead_id = f"gaveup{n:04d}"
            at = start + timedelta(seconds=n)
            batch.save(LeadModel(lead_id, stage="LEAD", stage_sort=f"{at.isoformat()}#{lead_id}",
                                 stage_entered_at=at, created_at=at, updated_at=at, intake_attempts=MAX_ATTEMPTS,
                                 intake_pending=intake.LEGACY if n < 510 else intake.pending_key(lead_id),
                                 created_sort=f"{at.isoformat()}#{lead_id}"))
    def broken(*_a, **_k):
        raise RuntimeError("SQS unavailable")

    monkeypatch.setattr(queues, "enqueue_intake", broken)
    new = capture(lead_body(0, consent=False, tag="stuck"))  # stored, answered 202, never enqueued
    monkeypatch.undo()
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    first = requeue_stalled()
    assert first["requeued"] == 1 and first["gaveUp"] == 530
    drain_intake(aws)
    from leadflow.store.leads import find_lead

    assert find_lead(new).quality == "plausible"
    assert requeue_stalled() == {"found": 0, "requeued": 0, "gaveUp": 0}  # they left the sweep's partitions
    assert LeadModel.get("gaveup0000").intake_pending == intake.GAVE_UP  # still listed for operators


# ----------------------------------------------------------------- wiring

def test_the_nurture_sweep_only_finds_and_queues_and_workers_consume_the_queue():
    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    [sub] = [s for s in wiring.subscriptions if s.queue == "NurtureQueue"]
    assert sub.function == "NurtureWorkerFunction" and sub.report_batch_item_failures
    redrive = wiring.resources["NurtureQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert {s.function for s in wiring.schedules} >= {"NurtureSweepFunction", "IntakeSweepFunction"}
    statements = [s for p in wiring.resources["NurtureSweepFunctionRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in actions if a.startswith(("ses:", "events:", "ssm:"))}  # it sends no mail itself
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:Query"}
