"""SES: send a rendered mail (HTML + text, with headers such as List-Unsubscribe)."""

from __future__ import annotations

import random
import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from typing import Any

from leadflow.adapters.aws import client
from leadflow.settings import get_settings

THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
ONCE_ATTEMPTS = 3  # a throttled send_mail(once=True) is tried again this often in the call, then it is the caller's


class MailRefused(Exception):
    """SES answered with an error (or could not be reached at all): the mail was not sent, and
    sending it again later is safe. `throttled`: only SES's sending rate said no."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
        self.throttled = code in THROTTLED


class MailOutcomeUnknown(Exception):
    """The request went out but no answer came back (timeout, connection lost): SES may have sent it."""


def send_mail(*, to: str, subject: str, html: str, text: str, headers: dict[str, str] | None = None,
              sender_name: str = "Leadflow", once: bool = False) -> str:
    """Returns the SES message id. Addresses and subject are header-safe (capture refuses CR/LF).

    `once`: the caller records the outcome and must know it. No SDK retry (botocore would send a
    timed-out request again, and the person might get it twice); a throttled request is tried
    again here (SES said no: nothing went out). Raises MailRefused (not sent) or
    MailOutcomeUnknown (may have been sent)."""
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
    request = {"Source": sender, "Destinations": [to], "RawMessage": {"Data": message.as_bytes()}, **extra}
    if not once:
        return client("ses").send_raw_email(**request)["MessageId"]
    for attempt in range(ONCE_ATTEMPTS):
        try:
            return _send_once(request)
        except MailRefused as refused:
            if not refused.throttled or attempt == ONCE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.2) * 2 ** attempt)  # spread the retries of parallel workers
    raise AssertionError("unreachable")  # pragma: no cover


def _send_once(request: dict[str, Any]) -> str:
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as NoConnection

    try:
        return _single_attempt_client().send_raw_email(**request)["MessageId"]
    except ClientError as exc:  # SES's own answer: it did not accept the message
        raise MailRefused(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
    except NoConnection as exc:  # no connection was made (DNS, connect timeout, TLS): nothing was sent
        raise MailRefused(type(exc).__name__) from exc
    except HTTPClientError as exc:  # sent, but no answer (read timeout, connection closed): unknown
        raise MailOutcomeUnknown(type(exc).__name__) from exc


@cache
def _single_attempt_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("ses", region_name=get_settings().region,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def reset_clients() -> None:
    """For tests: forget the client made under another emulator."""
    _single_attempt_client.cache_clear()
