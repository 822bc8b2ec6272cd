"""SES: send a rendered mail (HTML + text, with headers such as List-Unsubscribe)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from leadflow.adapters.aws import client
from leadflow.settings import get_settings


def send_mail(*, to: str, subject: str, html: str, text: str, headers: dict[str, str] | None = None,
              sender_name: str = "Leadflow") -> str:
    """Returns the SES message id. Addresses and subject are header-safe (capture refuses CR/LF)."""
    settings = get_settings()
    sender = settings.sender_email
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    extra = {"ConfigurationSetName": settings.mail_configuration_set} if settings.mail_configuration_set else {}
    response = client("ses").send_raw_email(Source=sender, Destinations=[to],
                                            RawMessage={"Data": message.as_bytes()}, **extra)
    return response["MessageId"]
