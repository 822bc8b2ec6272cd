"""SQS engagement consumer: timeline, decayed engagement score, grade, MQL hand-off."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.scoring import handle_event


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    outcome = handle_event(message)
    logger.info("engagement", extra={"lead_id": message.get("leadId"), "type": message.get("type"),
                                     "outcome": outcome})


handler = sqs_batch_handler(_record_handler)
