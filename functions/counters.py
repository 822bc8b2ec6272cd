"""Outbox stream consumer: adds the funnel counter deltas of committed changes, exactly once."""

from __future__ import annotations

import time
from typing import Any

from functions.common import logger
from functions.stream_records import outbox_items
from leadflow.store.counters import CountingStopped, StreamCounts, add_from_stream


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = [StreamCounts(r["eventID"], int(r["dynamodb"]["SequenceNumber"]), counters,
                            r["dynamodb"]["NewImage"].get("at", {}).get("S", ""))
               for r, counters in outbox_items(event, "counters")]
    try:
        added, skipped = add_from_stream(records, now_epoch=int(time.time()))
    except CountingStopped as stopped:
        logger.warning("counting stopped; the batch comes again from this record",
                       extra={"sequence": stopped.record.sequence}, exc_info=stopped.__cause__)
        return {"batchItemFailures": [{"itemIdentifier": str(stopped.record.sequence)}]}
    logger.info("counted", extra={"records": added, "counted_before": skipped})
    return {"batchItemFailures": []}
