"""SES feedback, emulated. moto never bounces a mail; AWS does, through the template's wiring:
configuration set -> event destination (bounce, complaint) -> SNS topic -> subscribed function.

The local stack follows that wiring as the template declares it: a mail sent to the SES mailbox
simulator's bounce or complaint address produces the notification SES would publish (the
event-publishing format, `eventType`), delivered as an SNS event to every function subscribed
to the destination's topic. Remove the destination or the subscription from template.yaml and
no feedback arrives locally either.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.template import Wiring

log = logging.getLogger("infra.mail")

# https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html (mailbox simulator)
SIMULATOR = {"bounce@simulator.amazonses.com": "bounce", "complaint@simulator.amazonses.com": "complaint"}


def subscribers(wiring: Wiring) -> dict[str, list[tuple[str, str]]]:
    """Event type (bounce, complaint) -> (topic, function) logical ids its notification reaches."""
    resources = wiring.resources
    topic_functions: dict[str, list[str]] = {}
    for res in resources.values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::SNS::Subscription" and props.get("Protocol") == "lambda":
            topic = props["TopicArn"].get("Ref")
            function = props["Endpoint"]["Fn::GetAtt"][0]
            topic_functions.setdefault(topic, []).append(function)
    result: dict[str, list[tuple[str, str]]] = {}
    for res in resources.values():
        if res["Type"] != "AWS::SES::ConfigurationSetEventDestination":
            continue
        destination = res["Properties"]["EventDestination"]
        topic = destination.get("SnsDestination", {}).get("TopicARN", {}).get("Ref")
        if not destination.get("Enabled", True) or topic is None:
            continue
        for kind in destination.get("MatchingEventTypes", []):
            result.setdefault(kind.lower(), []).extend((topic, f) for f in topic_functions.get(topic, []))
    return result


def notification(kind: str, recipient: str, message_id: str, sender: str) -> dict[str, Any]:
    """What SES publishes for one bounced or complained recipient (event publishing)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    mail = {"timestamp": now, "messageId": message_id, "source": sender, "destination": [recipient]}
    if kind == "bounce":
        return {"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed", "status": "5.1.1"}]}}
    return {"eventType": "Complaint", "mail": mail, "complaint": {
        "timestamp": now, "complainedRecipients": [{"emailAddress": recipient}]}}


def sns_event(topic_arn: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": topic_arn,
                         "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn,
                                 "Message": json.dumps(message), "Timestamp": message["mail"]["timestamp"]}}]}


class MailFeedback(threading.Thread):
    """Watches what the emulated SES sent and delivers the simulator's feedback."""

    def __init__(self, wiring: Wiring, runtime: Any, *, sender: str, topic_arn: Callable[[str], str],
                 interval: float = 0.3):
        super().__init__(name="ses-feedback", daemon=True)
        self._routes = subscribers(wiring)
        self._runtime = runtime
        self._sender = sender
        self._topic_arn = topic_arn
        self._interval = interval
        self._seen = 0
        self._stop = threading.Event()

    def signal_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.deliver_new()
            except Exception:  # noqa: BLE001 - the emulator keeps running; the log says why
                log.exception("SES feedback emulation failed")

    def deliver_new(self) -> int:
        from leadflow.adapters.outbox import sent_mails

        mails = sent_mails()
        delivered = 0
        for mail in mails[self._seen:]:
            for recipient in mail.to:
                kind = SIMULATOR.get(recipient.lower())
                if kind is None:
                    continue
                for topic, function in self._routes.get(kind, []):
                    message = notification(kind, recipient, mail.message_id, self._sender)
                    event = sns_event(self._topic_arn(topic), message)
                    self._runtime.invoke(function, event)
                    delivered += 1
        self._seen = len(mails)
        return delivered
