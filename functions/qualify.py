"""SQS intake consumer: qualifies each captured lead; failures return only their own message."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.qualify import AFTER_VERDICT, after_verdict, merge_resubmission, qualify_lead


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    lead_id = message["leadId"]
    if "submissionId" in message:  # a later form of a known person, kept in DynamoDB
        merge_resubmission(lead_id, submission_id=message["submissionId"])
        logger.info("resubmission merged", extra={"lead_id": lead_id})
        return
    if message.get("step") == AFTER_VERDICT:  # the second step, from the committed verdict
        logger.info("after verdict", extra={"lead_id": lead_id, "outcome": after_verdict(lead_id)})
        return
    quality = qualify_lead(lead_id)
    logger.info("lead qualified", extra={"lead_id": lead_id, "quality": quality})


handler = sqs_batch_handler(_record_handler)
