"""SQS consumer wired in template.yaml; its logic arrives with issue 6."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def _record_handler(record: SQSRecord) -> None:
    logger.info("message received", extra={"message_id": record.message_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor,
                                    context=context)
