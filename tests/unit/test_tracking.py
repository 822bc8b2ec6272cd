"""Tracked links never become an open redirect; site events are small and honest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from leadflow.domain.submission import field_errors
from leadflow.domain.tracking import (
    EventKind,
    add_open_pixel,
    click_redirect,
    is_allowed_target,
    normalize_allow_list,
    parse_event,
    rewrite_links,
    tracking_allowed,
)

ALLOW = ["leadflow.example", "partner-events.example"]
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("url", [
    "https://leadflow.example",
    "https://leadflow.example/",
    "https://www.leadflow.example/lager/checkliste?utm_source=mail#top",
    "HTTPS://WWW.LEADFLOW.EXAMPLE/Path",
    "https://shop.eu.leadflow.example/a",
    "https://leadflow.example:443/x",
    "https://partner-events.example/register",
    "https://leadflow.example#@evil.example",  # the fragment is not the host: stays on our site
])
def test_our_own_sites_are_allowed(url):
    assert is_allowed_target(url, ALLOW)


NASTY = [
    "https://evil.example/",                                   # simply elsewhere
    "https://leadflow.example@evil.example/",                  # userinfo: the host is evil.example
    "https://leadflow.example:443@evil.example/",
    "https://user:pass@leadflow.example/",                     # credentials in links: never
    "https://leadflow.example%2F@evil.example/",
    "//evil.example/",                                         # scheme-relative
    "/\\evil.example/",
    "https:\\\\evil.example\\",                                # backslashes
    "https://leadflow.example\\@evil.example/",
    "https:/evil.example",
    "https:///evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "ftp://leadflow.example/file",
    "http://leadflow.example/",                                # http only when configured
    "https://leadflow.example.evil.example/",                  # allowed name as a subdomain of evil
    "https://evilleadflow.example/",                           # suffix without a dot
    "https://leadflow.example./",                              # trailing dot
    "https://lеadflow.example/",                               # Cyrillic 'е': an IDN lookalike
    "https://ｌｅａｄｆｌｏｗ.example/",                          # full-width letters
    "https://xn--ladflow-3ve.example/",                        # a punycode lookalike
    "https://%6ceadflow.example/",                             # percent-encoded host
    "https://leadflow.example:8443/",                          # another port
    "https://127.0.0.1/",
    "https://2130706433/",
    "https://[::1]/",
    " https://leadflow.example/",                              # leading whitespace
    "https://leadflow.example/\r\nLocation: https://evil.example",  # header injection
    "https://lead\tflow.example/",                             # browsers drop tabs: java\tscript tricks
    "https://leadflow..example/",
    "https://leadflow\u3002example/",                          # ideographic full stop as a dot
    "https://leadflow.example/\u2044\u2044evil.example",        # non-ASCII path: not for a Location header
    "https://evil.example/?next=https://leadflow.example/",
    "https://evil.example/#https://leadflow.example",
    "https://" + "a" * 2100 + ".leadflow.example/",
    "",
    None,
]


@pytest.mark.parametrize("url", NASTY)
def test_open_redirect_attempts_are_refused(url):
    assert not is_allowed_target(url, ALLOW)


def test_http_only_when_configured_and_idn_domains_compare_as_punycode():
    assert is_allowed_target("http://leadflow.example/", ALLOW, allow_http=True)
    assert not is_allowed_target("javascript://leadflow.example/%0aalert(1)", ALLOW, allow_http=True)
    assert normalize_allow_list(["bücher.example"]) == {"xn--bcher-kva.example"}
    assert is_allowed_target("https://bücher.example/", ["bücher.example"])
    assert is_allowed_target("https://xn--bcher-kva.example/", ["bücher.example"])
    assert not is_allowed_target("https://bucher.example/", ["bücher.example"])


def test_a_bad_allow_list_allows_nothing():
    assert not is_allowed_target("https://leadflow.example/", ["not a domain"])
    with pytest.raises(ValueError):
        normalize_allow_list(["https://leadflow.example/"])


def test_the_click_redirect_falls_back_when_the_target_is_not_allowed():
    home = "https://www.leadflow.example/"
    assert click_redirect({"url": "https://www.leadflow.example/x"}, ALLOW, home) == "https://www.leadflow.example/x"
    assert click_redirect({"url": "https://evil.example/"}, ALLOW, home) == home
    assert click_redirect({}, ALLOW, home) == home
    assert click_redirect({"url": "https://evil.example/"}, ALLOW, None) is None  # no fallback: the caller says 403


# --------------------------------------------------------------------------- rewriting mail links

HTML = """<p>Hallo</p>
<a href="https://www.leadflow.example/a?x=1&amp;y=2" style="color:red">Checkliste</a>
<a class="btn" href='https://leadflow.example/b'>B</a>
<A HREF=https://leadflow.example/c>C</A>
<a href="mailto:hallo@leadflow.example">Mail</a>
<a href="tel:+49221555">Anrufen</a>
<a href="#top">Nach oben</a>
<a href="https://www.leadflow.example/impressum" data-no-track>Impressum</a>
<a href="https://www.leadflow.example/unsubscribe?token=abc" data-unsubscribe>Abmelden</a>
<a href="https://www.leadflow.example/unsubscribe?token=xyz">Abmelden ohne Markierung</a>
<a name="anchor">kein Link</a>
"""


def test_only_http_links_are_rewritten_never_mailto_or_the_unsubscribe_link():
    seen: list[str] = []

    def track(url: str) -> str:
        seen.append(url)
        return f"https://t.leadflow.example/t/c/TOKEN{len(seen)}?a=1&b=2"

    out = rewrite_links(HTML, track)
    assert seen == ["https://www.leadflow.example/a?x=1&y=2", "https://leadflow.example/b",
                    "https://leadflow.example/c"]
    assert 'href="https://t.leadflow.example/t/c/TOKEN1?a=1&amp;b=2" style="color:red"' in out
    assert '<a class="btn" href="https://t.leadflow.example/t/c/TOKEN2?a=1&amp;b=2">' in out
    for untouched in ('href="mailto:hallo@leadflow.example"', 'href="tel:+49221555"', 'href="#top"',
                      'href="https://www.leadflow.example/impressum" data-no-track',
                      'href="https://www.leadflow.example/unsubscribe?token=abc" data-unsubscribe',
                      'href="https://www.leadflow.example/unsubscribe?token=xyz"', '<a name="anchor">'):
        assert untouched in out


def test_a_click_url_cannot_break_out_of_the_attribute():
    out = rewrite_links('<a href="https://leadflow.example/">x</a>', lambda url: 'https://t.example/"><script>')
    assert "<script>" not in out and "&quot;&gt;&lt;script&gt;" in out


def test_the_open_pixel_goes_before_the_end_of_the_body():
    out = add_open_pixel("<html><body><p>x</p></body></html>", "https://t.leadflow.example/t/o/TOK")
    assert out.endswith('data-no-track></body></html>') and 'src="https://t.leadflow.example/t/o/TOK"' in out
    assert add_open_pixel("<p>x</p>", "https://t/o").startswith("<p>x</p><img")


def test_per_person_tracking_needs_the_tracking_consent():
    assert not tracking_allowed({"email_marketing"})
    assert tracking_allowed({"email_marketing", "tracking"})
    assert tracking_allowed(set(), require_consent=False)


# --------------------------------------------------------------------------- POST /events


def event(**changes):
    body = {"siteKey": "site_leadflow_de", "visitorId": "v-1234567890", "leadId": "01hxyzabcdefgh",
            "type": "download", "url": "https://www.leadflow.example/lager/whitepaper.pdf",
            "occurredAt": "2026-11-22T09:58:00Z", "properties": {"asset": "whitepaper-lager", "pages": 12}}
    body.update(changes)
    return body


def test_a_site_event_is_accepted():
    parsed = parse_event(event(), NOW)
    assert parsed.type is EventKind.DOWNLOAD and parsed.lead_id == "01hxyzabcdefgh"
    assert parsed.occurred_at == datetime(2026, 11, 22, 9, 58, tzinfo=UTC)
    anonymous = parse_event(event(leadId=None, type="page_visit", properties={}), NOW)
    assert anonymous.lead_id is None


@pytest.mark.parametrize("kind", ["page_visit", "download", "webinar_attended", "contact_request"])
def test_every_site_event_kind_is_known(kind):
    assert parse_event(event(type=kind), NOW).type.value == kind


def _first_error(body) -> tuple[str, str]:
    with pytest.raises(ValidationError) as err:
        parse_event(body, NOW)
    first = field_errors(err.value)[0]
    return first.field, first.message


@pytest.mark.parametrize("changes,field", [
    ({"type": "open"}, "type"),                        # opens only from the pixel
    ({"type": "click"}, "type"),                       # clicks only from signed links
    ({"type": "purchase"}, "type"),
    ({"occurredAt": (NOW + timedelta(hours=1)).isoformat()}, "occurredAt"),
    ({"occurredAt": (NOW - timedelta(days=30)).isoformat()}, "occurredAt"),
    ({"occurredAt": "2026-11-22T09:58:00"}, "occurredAt"),  # no time zone
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "https://x y.example/"}, "url"),
    ({"siteKey": "x"}, "siteKey"),
    ({"visitorId": "<script>"}, "visitorId"),
    ({"properties": {f"k{i}": i for i in range(21)}}, "properties"),
    ({"properties": {"nested": {"a": 1}}}, "properties.nested"),
    ({"properties": {"long": "x" * 300}}, "properties"),
    ({"properties": {"bad key!": 1}}, "properties"),
    ({"email": "someone@example.org"}, "email"),      # unknown fields are refused
])
def test_bad_events_are_refused_naming_the_field(changes, field):
    found, _message = _first_error(event(**changes))
    assert found.startswith(field)


def test_the_refusal_of_an_open_event_says_why():
    _, message = _first_error(event(type="open"))
    assert "only from mail links" in message


@pytest.mark.parametrize("changes,rule,message", [
    ({"siteKey": "short"}, "key_format", "must be 8 to 64 characters: letters, digits, _ -"),
    ({"visitorId": "<script>alert</script>"}, "id_format", "must be 8 to 128 characters: letters, digits, _ . : -"),
    ({"leadId": "01 hx"}, "id_format", "must be 8 to 128 characters: letters, digits, _ . : -"),
])
def test_a_pattern_refusal_names_the_real_rule_not_line_breaks(changes, rule, message):
    with pytest.raises(ValidationError) as err:
        parse_event(event(**changes), NOW)
    first = field_errors(err.value)[0]
    assert (first.rule, first.message) == (rule, message)


def test_every_pattern_of_the_public_models_has_a_named_rule():
    # the form submission (plain Python) takes each pattern's rule from PATTERN_RULES by key
    from leadflow.domain.submission import PATTERN_RULES
    from leadflow.domain.tracking import EngagementEventIn

    def patterns(model):
        for field in model.model_fields.values():
            for meta in [*field.metadata, *(m for a in getattr(field.annotation, "__args__", ())
                                             for m in getattr(a, "__metadata__", ()))]:
                if getattr(meta, "pattern", None):
                    yield getattr(meta.pattern, "pattern", meta.pattern)

    found = set(patterns(EngagementEventIn))
    assert found and found <= set(PATTERN_RULES), found - set(PATTERN_RULES)
