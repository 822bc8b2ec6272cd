"""SQS routing consumer: assigns each MQL exactly once; reassigns a lead whose acceptance is overdue
(messages from the SLA sweep). A message for a lead routed already, or no longer overdue, changes nothing."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.routing import handle


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    decision = handle(message)
    logger.info("routed", extra={"lead_id": message["leadId"], "check": message.get("check"),
                                 "rule": decision.rule if decision else None,
                                 "queue": decision.queue if decision else None})


handler = sqs_batch_handler(_record_handler)
