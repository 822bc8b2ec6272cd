"""Outbox stream consumer: sends the domain events and consumer work of committed changes.

At least once: a batch that fails is sent again from the failed record on (in order, so one
lead's follow-ups keep their order); consumers are idempotent on a business key and every
event carries an eventId naming the change it comes from."""

from __future__ import annotations

from typing import Any

from functions.common import logger
from functions.stream_records import change_id, failed_from, outbox_items
from leadflow.services.relay import relay


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sent = 0
    for record, effects in outbox_items(event, "effects"):
        try:
            relay(change_id(record), effects)
        except Exception:  # noqa: BLE001 - throttled or refused: retried from this record on
            logger.exception("relay failed; the batch comes again from this record",
                             extra={"change": change_id(record)})
            return failed_from(record)
        sent += 1
    logger.info("relayed", extra={"changes": sent})
    return {"batchItemFailures": []}
