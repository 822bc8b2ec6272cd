"""SQS nurture consumer: runs the due steps of one lead per message (mail, task, skip), in
parallel with other invocations; a failure returns only its own message."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.nurture import run_queued


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    lead_id = json.loads(record.body)["leadId"]
    actions = run_queued(lead_id)
    logger.info("nurture steps", extra={"lead_id": lead_id, "actions": actions})


handler = sqs_batch_handler(_record_handler)
