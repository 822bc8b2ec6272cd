"""SQS: hand work to the asynchronous consumers."""

from __future__ import annotations

import json
from typing import Any

from leadflow.adapters.aws import client
from leadflow.settings import get_settings


def send(queue_url: str, message: dict[str, Any]) -> str:
    response = client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
    return response["MessageId"]


def enqueue_intake(lead_id: str) -> str:
    return send(get_settings().intake_queue_url, {"leadId": lead_id})
