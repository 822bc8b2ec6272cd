"""The local SQS event source mappings: one poller thread per queue subscription.

Each poller long-polls its queue, hands the batch to the function in the shape
Lambda uses for SQS events, deletes what succeeded and leaves the rest to come
back after the visibility timeout, like the Lambda service does:

- handler raised -> the whole batch fails;
- ReportBatchItemFailures -> only the listed messageIds fail; an invalid
  response (unknown or empty itemIdentifier) fails the whole batch;
- without ReportBatchItemFailures any normal return means success.

Receives use a short visibility timeout (``visibility_timeout``, default 2 s)
instead of the queue's 180 s so that retries happen within seconds locally.
The dead-letter move itself is moto's: a message already received
``maxReceiveCount`` times is moved to the queue's DLQ on the next receive,
as SQS does.
"""

from __future__ import annotations

import base64
import logging
import threading
import traceback
from collections.abc import Iterable
from typing import Any

from infra.lambda_runtime import HandlerUnavailable
from infra.template import QueueSubscription

log = logging.getLogger("infra.sqs")

WAIT_TIME_SECONDS = 1


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A boto3 ReceiveMessage message as a record of the Lambda SQS event."""
    attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    def b64(raw: Any) -> str:
        return base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()

    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues") or []],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = b64(value["BinaryValue"])
    return out


def failed_message_ids(result: Any, message_ids: Iterable[str], *, report_batch_item_failures: bool) -> set[str]:
    """Which messages of the batch failed, given the handler's return value."""
    ids = list(message_ids)
    if not report_batch_item_failures:
        return set()
    if not isinstance(result, dict):
        return set()  # None / anything else: the batch succeeded
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            log.warning("invalid batchItemFailures entry %r: the whole batch fails", item)
            return set(ids)
        failed.add(identifier)
    return failed


class PollerThread:
    """A daemon thread running `_run` until `signal_stop`; `busy` while inside a handler (stop
    waits only for those). The local stack's queue and stream pollers are both one."""

    thread_name = "poller"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.busy = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class QueuePoller(PollerThread):
    def __init__(self, subscription: QueueSubscription, *, runtime: Any, queue_url: str, queue_arn: str,
                 region: str, endpoint_url: str, visibility_timeout: int = 2):
        self.subscription = subscription
        self.runtime = runtime
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.endpoint_url = endpoint_url
        self.visibility_timeout = visibility_timeout
        super().__init__()
        self.thread_name = f"sqs:{self.name}"
        self.batches = 0

    @property
    def name(self) -> str:
        return f"{self.subscription.queue}->{self.subscription.function}"

    def _run(self) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name=self.region, endpoint_url=self.endpoint_url)
        unavailable_logged = False
        while not self._stop.is_set():
            try:
                # Do not take messages off the queue while the function cannot load:
                # they would only burn receive counts towards the DLQ.
                self.runtime.load(self.subscription.function)
            except HandlerUnavailable:
                if not unavailable_logged:
                    log.warning("%s: not polling until the handler loads", self.name)
                    unavailable_logged = True
                self._stop.wait(2)
                continue
            if unavailable_logged:
                log.info("%s: handler loaded, polling", self.name)
                unavailable_logged = False
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=max(1, min(10, self.subscription.batch_size)),
                    WaitTimeSeconds=WAIT_TIME_SECONDS,
                    VisibilityTimeout=self.visibility_timeout,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as exc:  # noqa: BLE001 - emulator gone (shutdown) or hiccup
                if self._stop.is_set():
                    return
                log.warning("%s: receive failed: %s", self.name, exc)
                self._stop.wait(1)
                continue
            if messages and not self._stop.is_set():  # else: they come back after the visibility timeout
                self.busy = True
                try:
                    self._process(sqs, messages)
                finally:
                    self.busy = False

    def _process(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        ids = [r["messageId"] for r in records]
        self.batches += 1
        try:
            result = self.runtime.invoke(self.subscription.function, {"Records": records})
        except Exception:  # noqa: BLE001 - the invocation failed: the whole batch returns
            log.error("%s: handler raised, %d message(s) will be retried:\n%s", self.name, len(ids),
                      traceback.format_exc())
            return
        failed = failed_message_ids(result, ids,
                                    report_batch_item_failures=self.subscription.report_batch_item_failures)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            try:
                sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: delete failed (messages will be redelivered): %s", self.name, exc)
        log.info("%s: batch of %d, %d failed", self.name, len(ids), len(failed))
