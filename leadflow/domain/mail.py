"""Mail rendering: jinja2 templates in `leadflow/templates/mail/`, HTML and text parts.

Content keys name templates: `welcome` -> `mail/welcome.<lang>.html`,
`warehouse/checklist` -> `mail/library/warehouse/checklist.<lang>.html`,
tasks for people -> `mail/tasks/<kind>.<lang>.txt`. A message template
extends a layout and fills the blocks `subject`, `preheader` and `content`;
the text part is the `content` block converted to plain text inside
`_layout.txt` (one source per message, so the parts cannot drift apart).

- Autoescaping for `.html`, StrictUndefined everywhere: a missing variable is
  an error, never an empty greeting.
- Language: the lead's language, then English, then German (`de-AT` -> `de`).
- Marketing mails (everything but `TRANSACTIONAL`) carry the unsubscribe link
  in the body and return the `List-Unsubscribe` and
  `List-Unsubscribe-Post: List-Unsubscribe=One-Click` headers (RFC 8058).
- The DOI confirmation is transactional: its own layout, no advertising, no
  unsubscribe, no tracking; rendering refuses it if marketing blocks show up.

jinja2 is imported on first render (`environment()`), not at module import:
importing this module costs nothing for a function that only needs constants.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Environment, Template

TRANSACTIONAL = frozenset({"doi_confirmation"})
TASK_KINDS = ("phone_call", "postal_letter")
LANGUAGES = ("de", "en")
FALLBACK_LANGUAGES = ("en", "de")
ONE_CLICK = "List-Unsubscribe=One-Click"
# Markers only marketing layouts and content may render; the DOI mail must not contain them.
MARKETING_MARKERS = ('data-block="marketing"', 'data-block="content-library"', 'data-unsubscribe')
_KEY = re.compile(r"^[a-z0-9_]+(?:/[a-z0-9_]+)?$")


class TemplateMissing(LookupError):
    """No template for this content key in any acceptable language."""


@dataclass(frozen=True)
class RenderedMail:
    content_key: str
    language: str
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    marketing: bool = True


@dataclass(frozen=True)
class RenderedTask:
    kind: str
    language: str
    title: str
    body: str


# --------------------------------------------------------------------------- environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("leadflow", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


@lru_cache(maxsize=1)
def template_names() -> frozenset[str]:
    return frozenset(n for n in environment().list_templates() if n.startswith("mail/"))


def template_path(content_key: str, language: str) -> str:
    if not _KEY.match(content_key):
        raise ValueError(f"content key {content_key!r} must look like 'welcome' or 'warehouse/checklist'")
    if "/" in content_key:
        return f"mail/library/{content_key}.{language}.html"
    return f"mail/{content_key}.{language}.html"


def language_candidates(language: str | None) -> list[str]:
    lang = (language or "").replace("_", "-").split("-")[0].lower()
    out = [lang] if lang else []
    out += [fallback for fallback in FALLBACK_LANGUAGES if fallback not in out]
    return out


def resolve_template(content_key: str, language: str | None) -> tuple[str, str]:
    """(template name, language actually used), falling back to English, then German."""
    names = template_names()
    for lang in language_candidates(language):
        name = template_path(content_key, lang)
        if name in names:
            return name, lang
    raise TemplateMissing(f"no mail template for {content_key!r} (tried {', '.join(language_candidates(language))})")


def content_exists(content_key: str, language: str | None = None) -> bool:
    try:
        resolve_template(content_key, language)
    except (TemplateMissing, ValueError):
        return False
    return True


def library_keys() -> list[str]:
    """Every content-library key (`<interest>/<kind>`) with at least one language."""
    keys = set()
    for name in template_names():
        key = name.removeprefix("mail/library/").rsplit(".", 2)[0]
        if name.startswith("mail/library/") and not key.rsplit("/", 1)[-1].startswith("_"):  # _x: partials
            keys.add(key)
    return sorted(keys)


# --------------------------------------------------------------------------- context


_MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}


def format_when(at: datetime, language: str, tz: str = "Europe/Berlin") -> str:
    local = at.astimezone(ZoneInfo(tz))
    month = _MONTHS.get(language, _MONTHS["en"])[local.month - 1]
    if language == "de":
        return f"{local.day}. {month} {local.year}, {local:%H:%M} Uhr"
    return f"{local.day} {month} {local.year}, {local:%H:%M}"


def event_context(events: Iterable[Any], language: str, tz: str = "Europe/Berlin") -> list[dict[str, Any]]:
    """Events (journeys.Event or dicts) as template values with a localized `when`."""
    out = []
    for event in events:
        if isinstance(event, Mapping):
            out.append(dict(event))
            continue
        title = event.title.get(language) or event.title.get("en") or next(iter(event.title.values()))
        out.append({"id": event.id, "title": title, "city": event.city, "venue": event.venue,
                    "online": event.online, "url": event.url, "when": format_when(event.starts_at, language, tz)})
    return out


_LEAD_KEYS = ("first_name", "last_name", "company", "job_title", "phone", "street", "postal_code", "city",
              "country", "existing_customer")


def greeting(lead: Mapping[str, Any], language: str) -> str:
    first, last = (lead.get("first_name") or "").strip(), (lead.get("last_name") or "").strip()
    name = " ".join(p for p in (first, last) if p)
    if language == "de":
        return f"Guten Tag {name}," if name else "Guten Tag,"
    return f"Hello {first or name}," if name else "Hello,"


def lead_name(lead: Mapping[str, Any], language: str) -> str:
    name = " ".join(p for p in ((lead.get("first_name") or "").strip(), (lead.get("last_name") or "").strip()) if p)
    return name or (lead.get("company") or "").strip() or ("(ohne Namen)" if language == "de" else "(no name)")


def lead_address(lead: Mapping[str, Any]) -> str:
    """The postal address block (one line each), for letters."""
    name = " ".join(p for p in ((lead.get("first_name") or "").strip(), (lead.get("last_name") or "").strip()) if p)
    lines = [lead.get("company"), name, lead.get("street"),
             " ".join(p for p in (lead.get("postal_code"), lead.get("city")) if p), lead.get("country")]
    return "\n".join(str(line).strip() for line in lines if line and str(line).strip())


def _context(content_key: str, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(context)
    lead = {key: None for key in _LEAD_KEYS}
    lead.update(values.get("lead") or {})
    values["lead"] = lead
    values["language"] = language
    values["template_key"] = content_key
    values.setdefault("content_key", content_key)
    values.setdefault("greeting", greeting(lead, language))
    values.setdefault("lead_name", lead_name(lead, language))
    values.setdefault("lead_address", lead_address(lead))
    values.setdefault("interest_label", None)
    values["events"] = event_context(values.get("events") or [], language,
                                     values.get("time_zone") or "Europe/Berlin")
    return values


def sample_context(language: str = "de") -> dict[str, Any]:
    """A complete context: previews in the admin UI and the template tests."""
    from datetime import UTC

    return {
        "lead": {"first_name": "Anna", "last_name": "Schmidt", "company": "Nordlager GmbH",
                 "job_title": "Leiterin Logistik", "phone": "+49 40 1234567", "street": "Am Kai 5",
                 "postal_code": "20457", "city": "Hamburg", "country": "DE", "existing_customer": False},
        "company": company_sample(),
        "unsubscribe_url": "https://www.leadflow.example/unsubscribe?token=abc.def",
        "confirm_url": "https://www.leadflow.example/consent/confirm?token=abc.def",
        "consent_text": "Ja, ich möchte Informationen per E-Mail erhalten." if language == "de"
        else "Yes, I would like to receive information by email.",
        "interest_label": "Lager & Intralogistik" if language == "de" else "Warehouse & intralogistics",
        "events": [{"id": "ws-hh", "title": "Praxis-Workshop" if language == "de" else "Workshop",
                    "city": "Hamburg", "venue": "Am Sandtorkai 1", "online": False,
                    "url": "https://www.leadflow.example/events/ws-hh",
                    "when": format_when(datetime(2027, 2, 18, 8, 30, tzinfo=UTC), language)}],
        "content_title": "Checkliste Lager" if language == "de" else "Warehouse checklist",
        "content_key": "warehouse/checklist",
        "doi_expiry_days": 7,
        "reason": "Segment hot" if language == "de" else "segment hot",
        "due": "2027-02-18",
        "lead_url": "https://app.leadflow.example/leads/01hx",
    }


class Company(BaseModel):
    """The sender shown in every mail (config/company.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    name: str
    address: str
    website: str
    contact_url: str
    privacy_url: str
    imprint_url: str
    phone: str
    email: str

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Company:
        return cls.model_validate(document)

    def context(self) -> dict[str, str]:
        return self.model_dump(exclude={"version"})


def company_sample() -> dict[str, str]:
    return {
        "name": "Leadflow Demo GmbH",
        "address": "Musterweg 1, 50667 Köln",
        "website": "https://www.leadflow.example",
        "contact_url": "https://www.leadflow.example/kontakt",
        "privacy_url": "https://www.leadflow.example/datenschutz",
        "imprint_url": "https://www.leadflow.example/impressum",
        "phone": "+49 221 555 0100",
        "email": "hallo@leadflow.example",
    }


# --------------------------------------------------------------------------- html -> text


class _TextMaker(HTMLParser):
    _BLOCK = frozenset({"p", "div", "h1", "h2", "h3", "h4", "ul", "ol", "table", "tr", "section", "blockquote"})
    _SKIP = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str | None, int]] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if href and href.lower().startswith(("http://", "https://", "mailto:")) and href != label:
                self.parts.append(f": {href.removeprefix('mailto:')}" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [line.strip() for line in raw.split("\n")]
        out = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", out).strip()


def html_to_text(fragment: str) -> str:
    maker = _TextMaker()
    maker.feed(fragment)
    maker.close()
    return maker.text()


# --------------------------------------------------------------------------- rendering


def _render_block(template: Template, block: str, values: Mapping[str, Any]) -> str:
    render = template.blocks.get(block)
    if render is None:
        return ""
    return "".join(render(template.new_context(dict(values))))


def _header_value(text: str, limit: int = 250) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(text)).strip()[:limit]


def _check_unsubscribe_url(url: Any) -> str:
    if not isinstance(url, str) or re.search(r"[\s<>\"]", url):
        raise ValueError("a marketing mail needs `unsubscribe_url` (an absolute URL without spaces)")
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise ValueError("unsubscribe_url must be https (RFC 8058), http only for localhost")
    return url


def list_unsubscribe_headers(unsubscribe_url: str, mailto: str | None = None) -> dict[str, str]:
    """RFC 2369 + RFC 8058 one-click headers. The URL must accept POST `List-Unsubscribe=One-Click`."""
    url = _check_unsubscribe_url(unsubscribe_url)
    value = f"<{url}>"
    if mailto:
        if re.search(r"[\s<>\"]", mailto):
            raise ValueError("mailto must not contain spaces or angle brackets")
        value += f", <mailto:{mailto.removeprefix('mailto:')}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}


def render_email(content_key: str, language: str | None, context: Mapping[str, Any], *,
                 unsubscribe_mailto: str | None = None) -> RenderedMail:
    """Subject, HTML and text of one mail. Marketing mails need `unsubscribe_url` in the context."""
    name, lang = resolve_template(content_key, language)
    marketing = content_key not in TRANSACTIONAL
    values = _context(content_key, lang, context)
    if marketing:
        _check_unsubscribe_url(values.get("unsubscribe_url"))
    env = environment()
    template = env.get_template(name)
    html = template.render(values)
    subject = _header_value(_render_block(template, "subject", values))
    if not subject:
        raise ValueError(f"{name} renders an empty subject")
    body_text = html_to_text(_render_block(template, "content", values))
    text_layout = env.get_template("mail/_layout.txt" if marketing else "mail/_transactional.txt")
    text = text_layout.render({**values, "body_text": body_text}).strip() + "\n"
    headers: dict[str, str] = {}
    if marketing:
        headers = list_unsubscribe_headers(values["unsubscribe_url"], unsubscribe_mailto)
        if values["unsubscribe_url"] not in html_lib.unescape(html) or values["unsubscribe_url"] not in text:
            raise ValueError(f"{name}: the unsubscribe link is missing from the body")
    else:
        found = [m for m in MARKETING_MARKERS if m in html]
        if found:
            raise ValueError(f"{name} is transactional but renders marketing content ({found[0]})")
    return RenderedMail(content_key, lang, subject, html, text, headers, marketing)


def content_title(content_key: str, language: str | None, context: Mapping[str, Any] | None = None) -> str:
    """The subject of a content item: the title a phone or postal task refers to."""
    name, lang = resolve_template(content_key, language)
    template = environment().get_template(name)
    values = _context(content_key, lang, context or {})
    return _header_value(_render_block(template, "subject", values))


@lru_cache(maxsize=1)
def _page_names() -> frozenset[str]:
    return frozenset(n for n in environment().list_templates() if n.startswith("pages/"))


PAGE_KINDS = ("doi_ask", "doi_done", "doi_already", "doi_withdrawn", "doi_expired", "unsubscribe_ask",
              "unsubscribe_done", "link_invalid", "link_inactive", "click_refused",
              "doi_again_ask", "unsubscribe_again_ask")  # nothing stored (kept conflicting): click again


def render_page(kind: str, language: str | None, context: Mapping[str, Any]) -> tuple[str, str]:
    """(HTML, language used) of a page a mail link opens: `pages/<kind>.<lang>.html`, in the
    person's language with the same fallback as mails. Needs `company`; the forms need `token`."""
    if kind not in PAGE_KINDS:
        raise ValueError(f"page kind must be one of {', '.join(PAGE_KINDS)}")
    for lang in language_candidates(language):
        name = f"pages/{kind}.{lang}.html"
        if name in _page_names():
            return environment().get_template(name).render({"token": "", **context, "language": lang}), lang
    raise TemplateMissing(f"no page template for {kind}")  # pragma: no cover - both languages ship


def render_task(kind: str, language: str | None, context: Mapping[str, Any]) -> RenderedTask:
    """The instructions for a person doing a phone or postal step (title + body, plain text)."""
    if kind not in TASK_KINDS:
        raise ValueError(f"task kind must be one of {', '.join(TASK_KINDS)}")
    names = template_names()
    for lang in language_candidates(language):
        name = f"mail/tasks/{kind}.{lang}.txt"
        if name in names:
            break
    else:  # pragma: no cover - both languages ship
        raise TemplateMissing(f"no task template for {kind}")
    template = environment().get_template(name)
    values = _context(f"tasks/{kind}", lang, context)
    title = _header_value(_render_block(template, "title", values))
    body = _render_block(template, "body", values).strip() + "\n"
    return RenderedTask(kind, lang, title, body)
