"""SQS routing consumer: assigns each MQL exactly once."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.routing import route_lead


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    lead_id = json.loads(record.body)["leadId"]
    decision = route_lead(lead_id)
    logger.info("routed", extra={"lead_id": lead_id, "rule": decision.rule if decision else None,
                                 "queue": decision.queue if decision else None})


handler = sqs_batch_handler(_record_handler)
