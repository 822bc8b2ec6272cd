"""What the emulated SES has sent (local stack and tests only; never imported on AWS)."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email.message import Message
from email.policy import default


@dataclass(frozen=True)
class SentMail:
    message_id: str
    to: list[str]
    subject: str
    html: str
    text: str
    headers: dict[str, str]


def sent_mails(region: str = "eu-central-1", account: str = "123456789012") -> list[SentMail]:
    """Raw messages moto's SES backend holds for this process, oldest first."""
    from moto.ses.models import ses_backends

    out = []
    for message in ses_backends[account][region].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        parsed: Message = email.message_from_string(raw, policy=default)
        html = parsed.get_body(("html",))
        text = parsed.get_body(("plain",))
        # moto lists a recipient once per source (the Destinations parameter and the To header)
        out.append(SentMail(message_id=message.id, to=list(dict.fromkeys(message.destinations)),
                            subject=str(parsed["Subject"]), html=html.get_content() if html else "",
                            text=text.get_content() if text else "",
                            headers={k: str(v) for k, v in parsed.items()}))
    return out
