"""SQS engagement consumer: timeline, decayed engagement score, grade, MQL hand-off."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, metrics, tracer
from leadflow.services.scoring import handle_event

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    outcome = handle_event(message)
    logger.info("engagement", extra={"lead_id": message.get("leadId"), "type": message.get("type"),
                                     "outcome": outcome})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor,
                                    context=context)
