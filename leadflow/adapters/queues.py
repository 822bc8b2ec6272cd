"""SQS: hand work to the asynchronous consumers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from leadflow.adapters.aws import client
from leadflow.settings import get_settings

BATCH = 10  # SendMessageBatch's limit


def send(queue_url: str, message: dict[str, Any]) -> str:
    response = client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
    return response["MessageId"]


def send_batch(queue_url: str, messages: Iterable[dict[str, Any]]) -> int:
    """Send in batches of ten; an entry SQS refused is sent once more in the next batch. Returns how
    many SQS took (the callers' sweeps find the others again)."""
    pending = [json.dumps(m) for m in messages]
    sent = 0
    retried: set[str] = set()
    while pending:
        chunk, pending = pending[:BATCH], pending[BATCH:]
        response = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
        sent += len(response.get("Successful", []))
        again = [chunk[int(f["Id"])] for f in response.get("Failed", []) if not f.get("SenderFault")]
        pending += [body for body in again if body not in retried]
        retried.update(again)
    return sent


def warm() -> None:
    """Make the SQS client now (before threads share it: boto3 clients are thread-safe, their creation is not)."""
    client("sqs")


def enqueue_intake(lead_id: str) -> str:
    return send(get_settings().intake_queue_url, {"leadId": lead_id})
