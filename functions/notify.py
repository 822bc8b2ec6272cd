"""SQS notify consumer: mails one notification per message (a lead assigned, an SLA close or
missed, nobody eligible, a key account, a task due), at most once per business key."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.common import logger, sqs_batch_handler, tracer
from leadflow.services.notifications import deliver


@tracer.capture_method
def _record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    outcome = deliver(message)
    logger.info("notification", extra={"reason": message.get("notify"), "lead_id": message.get("leadId"),
                                       "task_id": message.get("taskId"), "outcome": outcome})


handler = sqs_batch_handler(_record_handler)
