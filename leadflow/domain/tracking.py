"""Engagement tracking: tracked links, the redirect allow list, and the events sites send.

Mail links are rewritten to `GET /t/c/{token}`; the token (leadflow.domain.consent,
purpose "click") carries the target URL, and the redirect (302) goes out only
if the target passes `is_allowed_target` at redirect time too: a tracked link
is never an open redirect, even with a stolen secret or a changed allow list.
The open pixel is `GET /t/o/{token}`. The unsubscribe link and mailto:/tel:
links are never rewritten.

`POST /events` takes page visits, downloads, webinar attendance and "contact me"
requests from our own sites (`EngagementEventIn`). Opens and clicks only come
from the signed mail links, so a site script cannot fake them.
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from leadflow.domain.locations import FORBIDDEN_CHARS as _FORBIDDEN_CHARS
from leadflow.domain.locations import MAX_URL_CHARS, safe_location

CLICK_PATH = "/t/c/"
OPEN_PATH = "/t/o/"
UNSUBSCRIBE_PATH = "/unsubscribe"


class EventKind(str, Enum):
    OPEN = "open"
    CLICK = "click"
    PAGE_VISIT = "page_visit"
    DOWNLOAD = "download"
    WEBINAR_ATTENDED = "webinar_attended"
    CONTACT_REQUEST = "contact_request"


# What a site may send to POST /events (opens and clicks come only from signed mail links).
SITE_EVENT_KINDS = frozenset({EventKind.PAGE_VISIT, EventKind.DOWNLOAD, EventKind.WEBINAR_ATTENDED,
                              EventKind.CONTACT_REQUEST})

# --------------------------------------------------------------------------- the allow list

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _ascii_host(host: str) -> str | None:
    """The host as ASCII (punycode for IDN), or None when it is not a plain DNS name.

    Non-ASCII hosts are IDNA-encoded and must then contain an `xn--` label: a
    host that Unicode normalisation maps onto plain ASCII (full-width letters)
    is a disguise and refused. Trailing dots, empty labels, percent escapes and
    IP literals are refused too.
    """
    if not host or host.endswith(".") or ".." in host or "%" in host or host.startswith("["):
        return None
    if host.isascii():
        ascii_host = host.lower()
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii").lower()
        except (UnicodeError, ValueError):
            return None
        if not any(label.startswith("xn--") for label in ascii_host.split(".")):
            return None
    labels = ascii_host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():  # 127.0.0.1, 2130706433 style hosts
        return None
    return ascii_host


def normalize_allow_list(allow_list: Iterable[str]) -> frozenset[str]:
    out = set()
    for entry in allow_list:
        host = _ascii_host(entry.strip().lower().removeprefix("*."))
        if host is None:
            raise ValueError(f"allow list entry {entry!r} is not a domain name")
        out.add(host)
    return frozenset(out)


def is_allowed_target(url: str, allow_list: Iterable[str], *, allow_http: bool = False) -> bool:
    """True only for an absolute https (http if allowed) URL whose host is an allowed domain
    or a subdomain of one. Refuses userinfo (`https://allowed.com@evil.com`), backslashes,
    scheme-relative (`//evil.com`), javascript:/data:, control characters and whitespace,
    IDN lookalikes (compared as punycode), trailing dots, IP literals and non-default ports."""
    if not safe_location(url):
        return False
    schemes = ("https", "http") if allow_http else ("https",)
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return False
    if not (parts.path + parts.query + parts.fragment).isascii():  # it goes into a Location header
        return False
    default_port = 443 if parts.scheme.lower() == "https" else 80
    if port is not None and port != default_port:
        return False
    netloc_host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    host = _ascii_host(netloc_host)
    if host is None:
        return False
    try:
        allowed = normalize_allow_list(allow_list)
    except ValueError:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in allowed)


def click_redirect(payload: Mapping[str, Any], allow_list: Iterable[str], fallback_url: str | None, *,
                   allow_http: bool = False) -> str | None:
    """Where `GET /t/c/{token}` redirects: the token's target if allowed now, else the fallback."""
    target = payload.get("url")
    if isinstance(target, str) and is_allowed_target(target, allow_list, allow_http=allow_http):
        return target
    return fallback_url if safe_location(fallback_url) else None


# --------------------------------------------------------------------------- link rewriting

_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_NO_TRACK = re.compile(r"\bdata-(?:no-track|unsubscribe)\b", re.IGNORECASE)


def _is_unsubscribe(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return path.rstrip("/").endswith(UNSUBSCRIBE_PATH)


def rewrite_links(html_text: str, make_click_url: Callable[[str], str]) -> str:
    """Every `<a href="http(s)://...">` through `make_click_url(target)`.

    Left alone: mailto:, tel:, anchors and relative links, links marked
    `data-no-track` or `data-unsubscribe`, and the unsubscribe link itself (a
    tracked redirect in front of it would break one-click unsubscribe).
    """
    def anchor(match: re.Match[str]) -> str:
        tag = match.group(0)
        if _NO_TRACK.search(tag):
            return tag
        href = _HREF.search(tag)
        if href is None:
            return tag
        raw = next((g for g in href.groups()[1:] if g is not None), "")
        target = html.unescape(raw).strip()
        if not target.lower().startswith(("https://", "http://")) or _is_unsubscribe(target):
            return tag
        new = html.escape(make_click_url(target), quote=True)
        return tag[:href.start()] + f'{href.group(1)}"{new}"' + tag[href.end():]

    return _ANCHOR.sub(anchor, html_text)


def add_open_pixel(html_text: str, pixel_url: str) -> str:
    """The 1x1 open pixel, just before `</body>` (or at the end)."""
    img = (f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
           'style="display:block;border:0;width:1px;height:1px" data-no-track>')
    index = html_text.lower().rfind("</body>")
    return html_text + img if index < 0 else html_text[:index] + img + html_text[index:]


def tracking_allowed(consent_purposes: Iterable[str], *, require_consent: bool = True) -> bool:
    """Per-person open/click tracking needs the `tracking` consent unless the settings say otherwise."""
    return not require_consent or "tracking" in set(consent_purposes)


# --------------------------------------------------------------------------- POST /events

MAX_EVENT_BYTES = 8 * 1024
MAX_PROPERTIES = 20
EVENT_MAX_AGE = timedelta(days=7)
EVENT_MAX_FUTURE = timedelta(minutes=5)

_Id = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.:\-]{8,128}$")]
_PROPERTY_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
PropertyValue = str | int | float | bool | None


class EngagementEventIn(BaseModel):
    """`POST /events` from our own sites: `{siteKey, visitorId, leadId?, type, url, occurredAt, properties}`.

    Validate with `parse_event(data, now)` so `occurredAt` is checked against
    the clock (at most 7 days old, at most 5 minutes in the future).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True)

    site_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{8,64}$")]
    visitor_id: _Id
    lead_id: _Id | None = None
    type: EventKind
    url: Annotated[str, StringConstraints(min_length=8, max_length=MAX_URL_CHARS)]
    occurred_at: datetime
    properties: dict[str, PropertyValue] = Field(default_factory=dict, max_length=MAX_PROPERTIES)

    @field_validator("type")
    @classmethod
    def _site_kinds(cls, value: EventKind) -> EventKind:
        if value not in SITE_EVENT_KINDS:
            allowed = ", ".join(sorted(k.value for k in SITE_EVENT_KINDS))
            raise ValueError(f"{value.value} events come only from mail links; allowed here: {allowed}")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if _FORBIDDEN_CHARS.search(value) or not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL without spaces")
        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError("must be an absolute http(s) URL with a host")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _recent(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-22T10:00:00Z")
        now = (info.context or {}).get("now")
        if now is not None:
            if value > now + EVENT_MAX_FUTURE:
                raise ValueError("lies in the future")
            if value < now - EVENT_MAX_AGE:
                raise ValueError(f"is older than {EVENT_MAX_AGE.days} days")
        return value

    @field_validator("properties")
    @classmethod
    def _flat_small(cls, value: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        for key, item in value.items():
            if not _PROPERTY_KEY.match(key):
                raise ValueError(f"property name {key[:70]!r} must be letters, digits, '_', '.', '-' (max 64)")
            if isinstance(item, str) and len(item) > 256:
                raise ValueError(f"property {key} is longer than 256 characters")
        return value


def parse_event(data: Any, now: datetime) -> EngagementEventIn:
    """Validate a `POST /events` body (pydantic ValidationError names the field; see submission.field_errors)."""
    return EngagementEventIn.model_validate(data, context={"now": now})


# --------------------------------------------------------------------------- sites

class Site(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{8,64}$")]
    name: str
    origins: tuple[str, ...] = ()


class Sites(BaseModel):
    """The company's own web sites allowed to send `POST /events` (config/sites.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    visitor_event_days: int = 30  # anonymous events wait this long for the visitor's form
    sites: tuple[Site, ...]

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Sites:
        return cls.model_validate(document)

    def site(self, key: str) -> Site | None:
        return next((s for s in self.sites if hmac.compare_digest(s.key, key)), None)
