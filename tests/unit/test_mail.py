"""Mail templates: every one renders in German and English, marketing mails can be left with
one click, and the double opt-in mail advertises nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from jinja2 import UndefinedError

from leadflow.domain.journey_config import JourneyBook
from leadflow.domain.journeys import LeadFacts, events_for
from leadflow.domain.mail import (
    PAGE_KINDS,
    TemplateMissing,
    company_sample,
    content_exists,
    content_title,
    environment,
    html_to_text,
    library_keys,
    list_unsubscribe_headers,
    render_email,
    render_page,
    render_task,
    resolve_template,
    sample_context,
    template_names,
)
from leadflow.domain.tracking import is_allowed_target, rewrite_links

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("checklist", "whitepaper", "service_information", "after_sales_tips", "event_invitation")
AREAS = ("warehouse", "fleet", "software")
UNSUBSCRIBE = "https://www.leadflow.example/unsubscribe?token=abc.def"


@pytest.fixture(scope="module")
def book() -> JourneyBook:
    return JourneyBook.from_dict(yaml.safe_load((ROOT / "config" / "journeys.yaml").read_text()))


def message_keys() -> list[str]:
    keys = set()
    for name in template_names():
        if name.startswith("mail/library/"):
            keys.add(name.removeprefix("mail/library/").rsplit(".", 2)[0])
        elif name.startswith("mail/") and name.count("/") == 1 and not name.startswith("mail/_"):
            keys.add(name.removeprefix("mail/").rsplit(".", 2)[0])
    return sorted(keys)


# --------------------------------------------------------------------------- every template renders


def test_the_library_has_every_kind_for_three_interest_areas_in_german_and_english():
    assert set(library_keys()) >= {f"{a}/{k}" for a in AREAS for k in KINDS}
    for key in library_keys():
        for lang in ("de", "en"):
            assert resolve_template(key, lang) == (f"mail/library/{key}.{lang}.html", lang)


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("key", message_keys())
def test_every_mail_template_renders_without_missing_variables(key, language):
    mail = render_email(key, language, sample_context(language))
    assert mail.language == language and mail.subject and "\n" not in mail.subject
    assert mail.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in mail.html
    assert "Anna" in mail.text and "None" not in mail.text and "None" not in mail.html


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("kind", ["phone_call", "postal_letter"])
def test_task_templates_render_for_the_person_doing_the_task(kind, language):
    task = render_task(kind, language, sample_context(language))
    assert "Anna Schmidt" in task.title and task.body.strip()
    assert "None" not in task.body
    if kind == "phone_call":
        assert "+49 40 1234567" in task.body
    else:
        assert "Am Kai 5\n20457 Hamburg" in task.body and "Art. 21" in task.body


def test_every_template_file_compiles():
    env = environment()
    for name in template_names():
        env.get_template(name)
    assert len(template_names()) >= 4 + 4 + 30 + 4


def test_a_missing_variable_is_an_error_not_an_empty_line():
    context = sample_context("de")
    del context["company"]
    with pytest.raises(UndefinedError):
        render_email("welcome", "de", context)


def test_every_content_key_the_shipped_journeys_use_exists(book):
    for journey in book.journeys:
        for step in journey.steps:
            for area in book.settings.interest_areas:
                key = step.content.replace("{interest}", area)
                for lang in book.settings.languages:
                    assert content_exists(key, lang), (journey.id, step.id, key, lang)


# --------------------------------------------------------------------------- unsubscribe everywhere


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("key", [k for k in message_keys() if k != "doi_confirmation"])
def test_every_marketing_mail_has_the_unsubscribe_link_and_one_click_headers(key, language):
    mail = render_email(key, language, sample_context(language))
    assert mail.marketing
    assert f'href="{UNSUBSCRIBE}" data-unsubscribe' in mail.html
    assert UNSUBSCRIBE in mail.text
    assert mail.headers == {"List-Unsubscribe": f"<{UNSUBSCRIBE}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def test_no_marketing_mail_without_an_unsubscribe_link():
    context = sample_context("de")
    del context["unsubscribe_url"]
    with pytest.raises(ValueError, match="unsubscribe_url"):
        render_email("warehouse/checklist", "de", context)
    with pytest.raises(ValueError, match="https"):
        render_email("warehouse/checklist", "de", {**context, "unsubscribe_url": "http://www.leadflow.example/u"})
    local = render_email("welcome", "de", {**context, "unsubscribe_url": "http://127.0.0.1:8000/unsubscribe?token=t"})
    assert local.headers["List-Unsubscribe"] == "<http://127.0.0.1:8000/unsubscribe?token=t>"


def test_a_mailto_can_join_the_list_unsubscribe_header():
    headers = list_unsubscribe_headers(UNSUBSCRIBE, "unsubscribe@leadflow.example")
    assert headers["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@leadflow.example>"
    with pytest.raises(ValueError):
        list_unsubscribe_headers(UNSUBSCRIBE + ">\r\nBcc: x@evil.example")


def test_tracking_rewrites_content_links_but_never_the_unsubscribe_link():
    mail = render_email("warehouse/checklist", "de", sample_context("de"))
    tracked: list[str] = []
    out = rewrite_links(mail.html, lambda url: tracked.append(url) or f"https://t.leadflow.example/t/c/{len(tracked)}")
    assert tracked == ["https://www.leadflow.example/lager/checkliste"]
    assert f'href="{UNSUBSCRIBE}" data-unsubscribe' in out
    assert all(is_allowed_target(url, ["leadflow.example"]) for url in tracked)


# --------------------------------------------------------------------------- the DOI mail advertises nothing


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_doi_mail_contains_only_the_confirmation(language):
    mail = render_email("doi_confirmation", language, sample_context(language))
    assert not mail.marketing and mail.headers == {}
    for marker in ('data-block="content-library"', 'data-block="marketing"', "data-unsubscribe", "unsubscribe",
                   "/t/c/", "/t/o/", "Whitepaper", "Checkliste", "Workshop", "Rückruf", "<img"):
        assert marker not in mail.html, marker
    links = [part.split('"', 1)[0] for part in mail.html.split('href="')[1:]]
    assert links == ["https://www.leadflow.example/consent/confirm?token=abc.def",
                     "https://www.leadflow.example/impressum", "https://www.leadflow.example/datenschutz"]
    assert "https://www.leadflow.example/consent/confirm?token=abc.def" in mail.text
    assert sample_context(language)["consent_text"] in mail.text


def test_a_doi_template_that_sneaks_in_marketing_is_refused(monkeypatch):
    from jinja2 import ChoiceLoader, DictLoader

    env = environment()
    sneaky = ('{% extends "mail/_layout.html" %}{% block subject %}Bitte bestätigen{% endblock %}'
              '{% block content %}<a href="{{ confirm_url }}">ok</a>{% endblock %}')
    monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader({"mail/doi_confirmation.de.html": sneaky}),
                                                     env.loader]))
    env.cache.clear()
    try:
        with pytest.raises(ValueError, match="transactional"):
            render_email("doi_confirmation", "de", sample_context("de"))
    finally:
        env.cache.clear()


# --------------------------------------------------------------------------- language, escaping, content


def test_languages_fall_back_to_english_then_german():
    assert resolve_template("welcome", "de-AT")[1] == "de"
    assert resolve_template("welcome", "fr")[1] == "en"
    assert resolve_template("welcome", None)[1] == "en"
    assert render_email("welcome", "fr", sample_context("en")).language == "en"
    with pytest.raises(TemplateMissing):
        resolve_template("cooking/recipes", "de")
    with pytest.raises(ValueError):
        resolve_template("../../etc/passwd", "de")


def test_lead_data_is_escaped_in_html_and_cannot_inject_headers():
    context = sample_context("en")
    context["lead"] = {**context["lead"], "first_name": "<script>alert(1)</script>"}
    mail = render_email("welcome", "en", {**context, "company": {**context["company"], "name": "ACME\r\nBcc: x"}})
    assert "<script>alert(1)</script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "\r" not in mail.subject and "\n" not in mail.subject


def test_a_greeting_without_a_name_is_still_polite():
    context = sample_context("de")
    context["lead"] = {"first_name": None, "last_name": None}
    mail = render_email("welcome", "de", context)
    assert mail.text.startswith("Guten Tag,\n")


def test_existing_customers_are_welcomed_as_customers():
    context = sample_context("de")
    context["lead"] = {**context["lead"], "existing_customer": True}
    assert render_email("welcome", "de", context).subject == "Schön, dass Sie dabei sind"


def test_the_hamburg_lead_is_invited_to_hamburg_not_munich(book):
    now = datetime(2027, 1, 10, 9, tzinfo=UTC)
    lead = LeadFacts(lead_id="L1", interests=("warehouse",), country="DE", postal_code="20095", has_email=True)
    context = {**sample_context("de"), "events": events_for(lead, book, now)}
    mail = render_email("warehouse/event_invitation", "de", context)
    assert "Hamburg" in mail.text and "München" not in mail.text
    assert "18. Februar 2027, 09:30 Uhr" in mail.text
    assert "https://www.leadflow.example/events/ws-warehouse-hamburg" in mail.html


def test_content_titles_name_the_item_for_tasks():
    assert content_title("warehouse/checklist", "de") == "Checkliste: Ist Ihr Lager bereit für mehr Durchsatz?"
    assert content_title("fleet/whitepaper", "en").startswith("White paper")


def test_the_text_part_keeps_links_and_lists():
    text = html_to_text('<p>Hallo <b>Anna</b>,</p><ul><li>eins</li><li>zwei</li></ul>'
                        '<p><a href="https://x.example/a">Mehr</a></p><style>p{}</style>')
    assert text == "Hallo Anna,\n\n- eins\n- zwei\n\nMehr: https://x.example/a"


def test_importing_the_module_does_not_import_jinja2():
    code = "import sys, leadflow.domain.mail; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kind", PAGE_KINDS)
@pytest.mark.parametrize("language", ["de", "en"])
def test_every_link_page_renders_in_both_languages(kind, language):
    page, used = render_page(kind, language, {"company": company_sample(), "token": "abc.def"})
    assert used == language and f'<html lang="{language}">' in page
    assert "Leadflow Demo GmbH" in page and ("Impressum" in page) == (language == "de")
    assert "<script" not in page and "/t/o/" not in page  # no tracking on these pages
    asks = kind.endswith("_ask")  # only these offer the button; a GET of the link shows them
    assert ('<form method="post">' in page) == asks
    assert ('name="token" value="abc.def"' in page) == asks


def test_a_link_page_escapes_the_token_and_falls_back_to_english():
    page, used = render_page("unsubscribe_ask", "fr-CH", {"company": company_sample(), "token": '"><script>x'})
    assert used == "en" and "<script>x" not in page and "&#34;&gt;&lt;script&gt;x" in page
    with pytest.raises(ValueError, match="page kind"):
        render_page("nope", "de", {"company": company_sample()})
