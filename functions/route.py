"""SQS routing consumer: assigns each MQL exactly once."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, metrics, tracer
from leadflow.services.routing import route_lead

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    lead_id = json.loads(record.body)["leadId"]
    decision = route_lead(lead_id)
    logger.info("routed", extra={"lead_id": lead_id, "rule": decision.rule if decision else None,
                                 "queue": decision.queue if decision else None})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor,
                                    context=context)
