"""Fault injection over the whole intake-to-routing path, in process on moto.

`World` plays the Lambda service: it runs the template's stream and queue consumers until
nothing is left, redelivering what failed as Lambda and SQS would (a failed batch comes back; an
SQS message after its visibility timeout, here at once; a stream batch from the failed record
on). `Faults` patches botocore's one API-call method (boto3 and PynamoDB both go through it) and
injects ONE failure at a chosen point:

- `before`: the call fails before it reaches AWS (a throttle that outlasted the SDK's retries);
- `after`: the call succeeded, then the function died (a crash right after a commit): the
  exception is a BaseException, so no `except Exception` in the product can swallow it.

A point is a call site: (function, service, operation, resource), at the first call of the run
that has it (the resource: the table(s), queue or bus the call names), before or right after it.
"""

from __future__ import annotations

import contextvars
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client
from botocore.exceptions import ClientError

from tests.helpers import LambdaContext, handler_of, http_event

WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
_function: contextvars.ContextVar[str] = contextvars.ContextVar("fault_function", default="client")
_invocation: contextvars.ContextVar[int] = contextvars.ContextVar("fault_invocation", default=0)
_invocations = iter(range(1, 1 << 62))


class Crash(BaseException):
    """The function's process died (after a call that succeeded)."""


@dataclass(frozen=True)
class Point:
    function: str
    service: str
    operation: str
    resource: str
    when: str  # "before" | "after"

    def __str__(self) -> str:
        return f"{self.when}:{self.function}:{self.service}.{self.operation}:{self.resource}"


def resource_of(params: dict[str, Any]) -> str:
    """What a call acts on, by name without the stack prefix (leadflow-LeadsTable -> LeadsTable)."""
    names: set[str] = set()
    if "TableName" in params:
        names.add(params["TableName"])
    for item in params.get("TransactItems") or []:
        names.update(action["TableName"] for action in item.values())
    names.update(params.get("RequestItems") or {})
    if "QueueUrl" in params:
        names.add(params["QueueUrl"].rsplit("/", 1)[-1])
    for entry in params.get("Entries") or []:
        if isinstance(entry, dict) and "EventBusName" in entry:
            names.add("bus")
    return "+".join(sorted(n.split("-", 1)[-1] for n in names)) or "-"


@dataclass
class Faults:
    """Counts calls per (function, service, operation); fails the chosen one once."""
    target: Point | None = None
    fired: bool = False
    calls: list[tuple[str, str, str, str, bool]] = field(default_factory=list)  # ..., succeeded
    mail_sent_before_fault: bool = False  # SES accepted a mail in the invocation the fault hit
    _mailed_in: set[int] = field(default_factory=set)  # invocations in which SES accepted a mail

    def install(self, monkeypatch) -> None:
        original = botocore.client.BaseClient._make_api_call

        @functools.wraps(original)
        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            key = (_function.get(), service, operation, resource_of(params))
            target = self.target
            hit = (not self.fired and target is not None
                   and (target.function, target.service, target.operation, target.resource) == key)
            invocation = _invocation.get()
            if hit and target.when == "before":
                self._fire(invocation)
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected fault"}},
                                  operation)
            try:
                result = original(client, operation, params)
            except Exception:
                self.calls.append((*key, False))
                raise
            self.calls.append((*key, True))
            if service in ("ses", "sesv2") and operation.startswith("Send"):
                self._mailed_in.add(invocation)
            if hit and target.when == "after":
                self._fire(invocation)
                raise Crash(str(self.target))
            return result

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)

    def _fire(self, invocation: int) -> None:
        self.fired = True
        self.mail_sent_before_fault = invocation in self._mailed_in

    def points(self, *, skip_services: tuple[str, ...] = ("dynamodbstreams",)) -> list[Point]:
        """Every injection point of a recorded run: each call site of a function (not the harness's
        own stream reads or the test client's), before it; and right after a successful write."""
        out: dict[Point, None] = {}
        for function, service, operation, resource, succeeded in self.calls:
            if function == "client" or service in skip_services:
                continue
            out[Point(function, service, operation, resource, "before")] = None
            writes = ((service == "dynamodb" and operation in WRITES)
                      or (service in ("sesv2", "ses", "sqs", "events") and operation.startswith(("Send", "Put"))))
            if writes and succeeded:
                out[Point(function, service, operation, resource, "after")] = None
        return list(out)


class World:
    """The Lambda service for one stack: stream mappings and queue mappings of the template."""

    def __init__(self, stack):
        from infra.streams import readers

        self.stack = stack
        self.sqs = boto3.client("sqs")
        self.crashes = 0
        self.readers = readers(stack, self._invoke_for_stream)

    def invoke(self, function: str, event: dict) -> Any:
        token, number = _function.set(function), _invocation.set(next(_invocations))
        try:
            return handler_of(self.stack, function)(event, LambdaContext())
        finally:
            _function.reset(token)
            _invocation.reset(number)

    def _invoke_for_stream(self, function: str, event: dict) -> Any:
        try:
            return self.invoke(function, event)
        except Crash:
            self.crashes += 1
            raise RuntimeError("the function crashed") from None  # the stream reader retries the batch

    def post_lead(self, body: dict, *, attempts: int = 3) -> str:
        """A web form posting; a failed answer (5xx) is sent again, as browsers and form services do."""
        for _ in range(attempts):
            try:
                response = self.invoke("CaptureFunction", http_event("POST", "/leads", body=body))
            except (Crash, Exception):  # died or raised: API Gateway answers 5xx, the form is sent again
                self.crashes += 1
                continue
            if response["statusCode"] in (200, 202):
                return json.loads(response["body"])["id"]
        raise AssertionError(f"the form never got an answer: {response}")

    def run_until_quiet(self, max_rounds: int = 50) -> None:
        from infra.streams import drain

        for _ in range(max_rounds):
            worked = drain(self.readers) > 0
            for subscription in self.stack.wiring.subscriptions:
                worked |= self._deliver(subscription)
            if not worked:
                return
        raise AssertionError("the pipeline did not settle")

    def _deliver(self, subscription) -> bool:
        from infra.pollers import failed_message_ids, sqs_record

        url = self.stack.queue_url(subscription.queue)
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                            AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return False
        records = [sqs_record(m, queue_arn=self.stack.queue_arn(subscription.queue), region="eu-central-1")
                   for m in messages]
        try:
            result = self.invoke(subscription.function, {"Records": records})
        except (Crash, Exception):  # died, or raised (Powertools raises when every record failed)
            self.crashes += 1
            return True  # nothing deleted: every message of the batch comes again
        failed = failed_message_ids(result, [m["MessageId"] for m in messages],
                                    report_batch_item_failures=subscription.report_batch_item_failures)
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return True

    def dead_letters(self) -> int:
        url = self.stack.queue_url("DeadLetterQueue")
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
