"""The local DynamoDB stream event source mappings: what Lambda does with a table's stream.

For each stream subscription in the template, records are read in order from the stream
(moto's), filtered by the mapping's FilterCriteria, handed to the function in batches in the
shape Lambda uses, and on failure retried from the failed record on (ReportBatchItemFailures),
up to MaximumRetryAttempts; then the batch goes to the on-failure destination (a message
describing it, as Lambda sends) and reading continues. The same `StreamReader` serves the local
stack (a thread per subscription) and the in-process tests (`drain`).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from infra.pollers import PollerThread
from infra.template import StreamSubscription

log = logging.getLogger("infra.streams")


# --------------------------------------------------------------------- filter patterns
def matches(pattern: Any, value: Any, present: bool = True) -> bool:
    """Lambda/EventBridge event pattern matching, for what filter criteria use: nested objects,
    lists of allowed literals, {"exists": bool}, {"prefix": str}, {"anything-but": [...]}."""
    if isinstance(pattern, dict):
        if not present or not isinstance(value, dict):
            return False
        return all(matches(sub, value.get(key), key in value) for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(p, value, present) for p in pattern)
    return present and value == pattern


def _matches_one(rule: Any, value: Any, present: bool) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return present == bool(rule["exists"])
        if "prefix" in rule:
            return present and isinstance(value, str) and value.startswith(rule["prefix"])
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return present and value not in (excluded if isinstance(excluded, list) else [excluded])
        return False
    return present and value == rule


def passes(filters: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    return not filters or any(matches(f, record) for f in filters)


# --------------------------------------------------------------------- records
def lambda_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as a record of the Lambda DynamoDB event."""
    record = json.loads(json.dumps(raw, default=_epoch))
    record["eventSourceARN"] = stream_arn
    record["awsRegion"] = region
    return record


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(type(value))


class StreamReader:
    """One event source mapping: reads the stream from where it stopped, invokes the function."""

    def __init__(self, subscription: StreamSubscription, *, streams_client: Any, stream_arn: str, region: str,
                 invoke: Callable[[str, dict[str, Any]], Any], on_failure: Callable[[dict[str, Any]], None]):
        self.subscription = subscription
        self.client = streams_client
        self.stream_arn = stream_arn
        self.region = region
        self.invoke = invoke
        self.on_failure = on_failure
        self._after: str | None = None  # sequence number of the last record taken
        self._pending: list[dict[str, Any]] = []  # passed the filter, not yet processed
        self._attempts = 0
        self.batches = 0

    def _fetch(self) -> None:
        shard = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard}
        if self._after is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self._after)
        iterator = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        while iterator:
            page = self.client.get_records(ShardIterator=iterator, Limit=1000)
            records = page.get("Records") or []
            if not records:
                return
            for raw in records:
                self._after = raw["dynamodb"]["SequenceNumber"]
                record = lambda_record(raw, self.stream_arn, self.region)
                if passes(self.subscription.filters, record):
                    self._pending.append(record)
            iterator = page.get("NextShardIterator")

    def step(self) -> bool:
        """Process one batch; False when there was nothing to do."""
        if not self._pending:
            self._fetch()
        if not self._pending:
            return False
        batch = self._pending[: self.subscription.batch_size]
        self.batches += 1
        try:
            result = self.invoke(self.subscription.function, {"Records": batch})
        except Exception:  # noqa: BLE001 - the whole batch failed
            log.error("%s: handler raised:\n%s", self.subscription.function, traceback.format_exc())
            failed_at = 0
        else:
            failed_at = self._failed_index(result, batch)
        if failed_at is None:
            del self._pending[: len(batch)]
            self._attempts = 0
            return True
        del self._pending[:failed_at]  # what came before the failed record is done
        self._attempts += 1
        limit = self.subscription.maximum_retry_attempts
        if limit >= 0 and self._attempts > limit:
            rest = self._pending[: len(batch) - failed_at]
            self.on_failure({"requestContext": {"condition": "RetryAttemptsExhausted",
                                                "functionArn": self.subscription.function},
                             "DDBStreamBatchInfo": {
                                 "streamArn": self.stream_arn, "batchSize": len(rest),
                                 "startSequenceNumber": rest[0]["dynamodb"]["SequenceNumber"],
                                 "endSequenceNumber": rest[-1]["dynamodb"]["SequenceNumber"]}})
            del self._pending[: len(rest)]
            self._attempts = 0
        return True

    def _failed_index(self, result: Any, batch: list[dict[str, Any]]) -> int | None:
        if not self.subscription.report_batch_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        positions = [sequences.index(f.get("itemIdentifier")) for f in failures
                     if isinstance(f, dict) and f.get("itemIdentifier") in sequences]
        if len(positions) != len(failures):
            return 0  # an invalid answer fails the whole batch, as Lambda does
        return min(positions)


def readers(stack: Any, invoke: Callable[[str, dict[str, Any]], Any], *, endpoint_url: str | None = None,
            region: str = "eu-central-1") -> list[StreamReader]:
    """A reader for every stream subscription of the stack's template."""
    import boto3

    kwargs = {"region_name": region, **({"endpoint_url": endpoint_url} if endpoint_url else {})}
    # in process, the classic endpoint: moto does not route botocore's account-based one
    streams = boto3.client("dynamodbstreams", **({"endpoint_url": f"https://streams.dynamodb.{region}.amazonaws.com",
                                                  **kwargs}))
    sqs = boto3.client("sqs", **kwargs)

    def destination(logical_id: str | None) -> Callable[[dict[str, Any]], None]:
        def send(message: dict[str, Any]) -> None:
            if logical_id:
                sqs.send_message(QueueUrl=stack.queue_url(logical_id), MessageBody=json.dumps(message))
            log.error("stream batch given up after retries: %s", message)
        return send

    return [StreamReader(s, streams_client=streams, stream_arn=stack.physical[s.table].attributes["StreamArn"],
                         region=region, invoke=invoke, on_failure=destination(s.on_failure))
            for s in stack.wiring.streams]


def drain(readers_: list[StreamReader], max_batches: int = 10_000) -> int:
    """Run every reader until no new record is left (in-process tests); the number of batches."""
    total = 0
    while total < max_batches:
        progressed = False
        for reader in readers_:
            while reader.step():
                progressed = True
                total += 1
        if not progressed:
            return total
    raise RuntimeError("streams did not settle")


class StreamPoller(PollerThread):
    """The local stack's thread for one reader: polls about every 200 ms, like Lambda's pollers."""

    def __init__(self, reader: StreamReader, *, can_run: Callable[[], bool] = lambda: True):
        super().__init__()
        self.reader = reader
        self.can_run = can_run
        self.thread_name = f"stream:{reader.subscription.function}"

    def _run(self) -> None:
        while not self._stop.is_set():
            worked = False
            try:
                if self.can_run():
                    self.busy = True
                    worked = self.reader.step()
            except Exception as exc:  # noqa: BLE001 - emulator gone (shutdown) or hiccup
                if self._stop.is_set():
                    return
                log.warning("%s: stream read failed: %s", self.reader.subscription.function, exc)
            finally:
                self.busy = False
            if not worked:
                self._stop.wait(0.2)
