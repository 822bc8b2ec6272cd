"""The shape of a form submission (`POST /leads`): types, sizes, no header injection.

Content plausibility (is this a real person?) is judged later by the
plausibility engine; this module only refuses what cannot be stored safely.

Plain Python, no pydantic: the capture function imports this at its cold start, where pydantic
alone cost about half of a bare `import boto3` (docs/benchmarks.md). The errors keep the wording
of every other input of the product (pydantic's, mapped by `field_errors`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

CONSENT_PURPOSES = ("email_marketing", "phone", "post", "tracking")

# Fields that can reach a mail header (From/To/Subject/greeting): no CR/LF.
_HEADER_SAFE = re.compile(r"^[^\r\n]*$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")
_VISITOR_ID = r"^[A-Za-z0-9_.:\-]{8,128}$"
_LANGUAGE = r"^(de|en)$"
# Stripped around every text: Unicode White_Space (str.strip() would also take \x1c-\x1f).
_WHITESPACE = (" \t\n\x0b\x0c\r\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
               + "\u2028\u2029\u202f\u205f\u3000")
CHANNELS = ("email", "phone", "postal")
AGE_GROUPS = ("under-20", "20-30", "31-44", "45-59", "60+")


@cache
def _country_codes() -> frozenset[str]:
    import phonenumbers  # the core module only; no geocoder

    return frozenset(phonenumbers.SUPPORTED_REGIONS) | {"XK"}


@dataclass(frozen=True)
class FieldError:
    """A broken rule: the field as the client named it, the rule, why."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class InvalidSubmission(ValueError):
    """Every rule the submission breaks, each naming its field as the client sent it."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{errors[0].field} {errors[0].message}")
        self.errors = errors


@dataclass(frozen=True)
class Consent:
    """The consent the form asked for: purposes and the version of the text the person saw."""

    purposes: list[str] = field(default_factory=list)  # known purposes, sorted, each once
    text_version: str = ""


@dataclass(frozen=True)
class LeadSubmission:
    """A checked form submission (parse_submission), texts stripped."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    interests: list[str] = field(default_factory=list)
    message: str | None = None
    source: str | None = None
    campaign: str | None = None
    form_id: str | None = None
    consent: Consent | None = None
    idempotency_key: str | None = None
    # the web analytics cookie id of the visitor (events before the form join the lead with consent)
    visitor_id: str | None = None
    language: str | None = None  # de | en
    # how the person wants to be contacted, and an age group if the form asks (seed 002: channel by segment)
    preferred_channel: str | None = None  # one of CHANNELS
    age_group: str | None = None  # one of AGE_GROUPS

    def as_dict(self, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        """The fields that are set (None left out), consent as a dict."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in exclude or value is None:
                continue
            out[f.name] = asdict(value) if isinstance(value, Consent) else (
                list(value) if isinstance(value, list) else value)
        return out

    def digest(self) -> str:
        """Identifies the same form submission sent twice (the idempotency key left out)."""
        payload = self.as_dict(exclude={"idempotency_key"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# What each pattern the product's inputs use means, as (rule, message): a pattern mismatch names
# the real rule (here and in the pydantic models of other inputs, see field_errors).
PATTERN_RULES: dict[str, tuple[str, str]] = {
    _HEADER_SAFE.pattern: ("no_line_breaks", "must not contain line breaks"),
    _VISITOR_ID: ("id_format", "must be 8 to 128 characters: letters, digits, _ . : -"),
    r"^[A-Za-z0-9_\-]{8,64}$": ("key_format", "must be 8 to 64 characters: letters, digits, _ -"),
    _LANGUAGE: ("one_of", "must be de or en"),
}


def parse_submission(data: Any) -> LeadSubmission:
    """The submission from a JSON object or form fields, named in camelCase (or snake_case);
    other fields are ignored, an empty one counts as not given. Raises InvalidSubmission with
    every broken rule, in the order of the fields."""
    if not isinstance(data, Mapping):
        raise InvalidSubmission([FieldError("body", "type_object",
                                            "Input should be a valid dictionary or instance of LeadSubmission")])
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for f in fields(LeadSubmission):
        name = _camel(f.name)
        key = name if name in data else f.name if f.name in data else None
        if key is None:
            continue
        value = data[key]
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None and f.default is None:  # optional and not given (interests must be a list)
            continue
        values[f.name] = _CHECKS[f.name](value, name, errors)
    if errors:
        raise InvalidSubmission(errors)
    return LeadSubmission(**values)


def _error(errors: list[FieldError], path: str, rule: str, message: str) -> None:
    errors.append(FieldError(path, rule, message))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _string(value: Any, path: str, errors: list[FieldError], *, min_length: int | None = None,
            max_length: int | None = None, pattern: str | None = None) -> str | None:
    """A text, stripped; checked for type, length and pattern in that order, the first broken
    rule reported."""
    if not isinstance(value, str):
        return _error(errors, path, "type_string", "Input should be a valid string")
    value = value.strip(_WHITESPACE)
    if min_length is not None and len(value) < min_length:
        return _error(errors, path, "min_length", f"String should have at least {_count(min_length, 'character')}")
    if max_length is not None and len(value) > max_length:
        return _error(errors, path, "max_length", f"String should have at most {_count(max_length, 'character')}")
    if pattern is not None and not re.search(pattern, value):
        return _error(errors, path, *PATTERN_RULES[pattern])
    return value


def _list(value: Any, path: str, errors: list[FieldError], max_items: int) -> list | tuple | None:
    if not isinstance(value, (list, tuple)):
        return _error(errors, path, "type_list", "Input should be a valid list")
    if len(value) > max_items:
        return _error(errors, path, "max_items",
                      f"List should have at most {_count(max_items, 'item')} after validation, not {len(value)}")
    return value


def _header_text(max_length: int):
    """A text that can reach a mail header: no line breaks."""
    return lambda value, path, errors: _string(value, path, errors, max_length=max_length,
                                               pattern=_HEADER_SAFE.pattern)


def _one_of(choices: tuple[str, ...]):
    listed = " or ".join(filter(None, [", ".join(f"'{c}'" for c in choices[:-1]), f"'{choices[-1]}'"]))

    def check(value: Any, path: str, errors: list[FieldError]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            return _error(errors, path, "literal_error", f"Input should be {listed}")
        return value

    return check


def _country(value: Any, path: str, errors: list[FieldError]) -> str | None:
    value = _string(value, path, errors)
    if value is not None and value.upper() not in _country_codes():
        return _error(errors, path, "format", "must be an ISO 3166-1 alpha-2 country code such as DE, AT, CH")
    return value.upper() if value is not None else None


def _interests(value: Any, path: str, errors: list[FieldError]) -> list[str] | None:
    items = _list(value, path, errors, max_items=20)
    return None if items is None else [
        _string(item, f"{path}[{i}]", errors, min_length=1, max_length=64, pattern=_HEADER_SAFE.pattern)
        for i, item in enumerate(items)]


def _idempotency_key(value: Any, path: str, errors: list[FieldError]) -> str | None:
    value = _string(value, path, errors)
    if value is not None and not _IDEMPOTENCY_KEY.match(value):
        return _error(errors, path, "format", "must be 8 to 128 characters of letters, digits, '_', '-', '.', ':'")
    return value


def _language(value: Any, path: str, errors: list[FieldError]) -> str | None:
    value = _string(value, path, errors, pattern=_LANGUAGE)
    return value.lower() if value is not None else None


def _consent(value: Any, path: str, errors: list[FieldError]) -> Consent | None:
    if not isinstance(value, Mapping):
        return _error(errors, path, "type_object", "Input should be a valid dictionary or instance of Consent")
    given = len(errors)
    purposes: list[str] = []
    if "purposes" in value:
        purposes = _purposes(value["purposes"], f"{path}.purposes", errors) or []
    key = "textVersion" if "textVersion" in value else "text_version" if "text_version" in value else None
    text_version = None
    if key is None:
        _error(errors, f"{path}.textVersion", "required", "Field required")
    else:
        text_version = _string(value[key], f"{path}.textVersion", errors, min_length=1, max_length=64)
    for extra in value:
        if extra not in ("purposes", key):
            _error(errors, f"{path}.{_camel(str(extra))}", "unknown_field", "Extra inputs are not permitted")
    return Consent(purposes, text_version) if len(errors) == given else None


def _purposes(value: Any, path: str, errors: list[FieldError]) -> list[str] | None:
    items = _list(value, path, errors, max_items=len(CONSENT_PURPOSES))
    if items is None:
        return None
    wrong = [i for i, item in enumerate(items) if not isinstance(item, str)]
    for i in wrong:
        _error(errors, f"{path}[{i}]", "type_string", "Input should be a valid string")
    if wrong:
        return None
    unknown = sorted(set(items) - set(CONSENT_PURPOSES))
    if unknown:
        return _error(errors, path, "format",
                      f"unknown purpose {unknown[0]!r}; allowed: {', '.join(CONSENT_PURPOSES)}")
    return sorted(set(items))


_CHECKS = {
    "first_name": _header_text(100), "last_name": _header_text(100), "email": _header_text(254),
    "phone": _header_text(40), "company": _header_text(200), "job_title": _header_text(150),
    "street": _header_text(200), "postal_code": _header_text(20), "city": _header_text(100),
    "country": _country, "interests": _interests,
    "message": lambda value, path, errors: _string(value, path, errors, max_length=5000),
    "source": _header_text(100), "campaign": _header_text(100), "form_id": _header_text(100),
    "consent": _consent, "idempotency_key": _idempotency_key,
    "visitor_id": lambda value, path, errors: _string(value, path, errors, pattern=_VISITOR_ID),
    "language": _language, "preferred_channel": _one_of(CHANNELS), "age_group": _one_of(AGE_GROUPS),
}


_RULES = {
    "string_too_long": "max_length", "too_long": "max_items", "string_too_short": "min_length",
    "string_pattern_mismatch": "pattern", "string_type": "type_string", "list_type": "type_list",
    "model_type": "type_object", "dict_type": "type_object", "missing": "required",
    "value_error": "format", "extra_forbidden": "unknown_field",
}


def field_errors(error: ValidationError) -> list[FieldError]:
    """Pydantic errors (of the other inputs' models) as `{field, rule, message}`, the field named
    as the client sent it."""
    out = []
    for item in error.errors():
        path = ".".join(_camel(str(p)) if isinstance(p, str) else f"[{p}]" for p in item["loc"])
        path = path.replace(".[", "[")
        rule = _RULES.get(item["type"], item["type"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch":
            pattern = str((item.get("ctx") or {}).get("pattern", ""))
            rule, message = PATTERN_RULES.get(pattern, (rule, message))
        out.append(FieldError(field=path or "body", rule=rule, message=message))
    return out


def _camel(name: str) -> str:
    """first_name -> firstName, as pydantic's to_camel (the names clients send)."""
    if re.match("^[a-z]+[A-Za-z0-9]*$", name) and not re.search(r"\d[a-z]", name):
        return name
    pascal = re.sub("([0-9A-Za-z])_(?=[0-9A-Z])", lambda m: m.group(1), name.title())
    return re.sub("(^_*[A-Z])", lambda m: m.group(1).lower(), pascal)


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def email_marker(email: str | None, key: bytes) -> str | None:
    """The uniqueness marker of an address: its keyed hash (HMAC-SHA256 with the product's hash
    key), so the marker holds no personal data and cannot be matched against a list of addresses."""
    normalized = normalize_email(email)
    return f"email#{hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()}" if normalized else None
