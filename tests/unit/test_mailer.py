"""Every mail goes out with the template's configuration set: without it SES publishes no
bounce or complaint, and the product keeps mailing dead or complaining addresses."""

from __future__ import annotations

from leadflow.adapters import mailer
from leadflow.settings import get_settings


def test_every_mail_carries_the_configuration_set(monkeypatch):
    sent: list[dict] = []

    class Ses:
        def send_raw_email(self, **request):
            sent.append(request)
            return {"MessageId": "m-1"}

    monkeypatch.setattr(mailer, "client", lambda service: Ses())
    monkeypatch.setenv("MAIL_CONFIGURATION_SET", "leadflow-prod-mail")
    get_settings.cache_clear()
    try:
        assert mailer.send_mail(to="anna@example.org", subject="Hallo", html="<p>Hallo</p>", text="Hallo") == "m-1"
    finally:
        get_settings.cache_clear()
    assert sent[0]["ConfigurationSetName"] == "leadflow-prod-mail"
    assert sent[0]["Destinations"] == ["anna@example.org"]
