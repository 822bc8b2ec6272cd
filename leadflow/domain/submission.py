"""The shape of a form submission (`POST /leads`): types, sizes, no header injection.

Content plausibility (is this a real person?) is judged later by the
plausibility engine; this model only refuses what cannot be stored safely.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic.alias_generators import to_camel

CONSENT_PURPOSES = ("email_marketing", "phone", "post", "tracking")

# Fields that can reach a mail header (From/To/Subject/greeting): no CR/LF.
_HEADER_SAFE = re.compile(r"^[^\r\n]*$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")

HeaderText = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_HEADER_SAFE)]


@cache
def _country_codes() -> frozenset[str]:
    import phonenumbers  # the core module only; no geocoder

    return frozenset(phonenumbers.SUPPORTED_REGIONS) | {"XK"}


class Consent(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    purposes: list[str] = Field(default_factory=list, max_length=len(CONSENT_PURPOSES))
    text_version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

    @field_validator("purposes")
    @classmethod
    def _known_purposes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CONSENT_PURPOSES))
        if unknown:
            raise ValueError(f"unknown purpose {unknown[0]!r}; allowed: {', '.join(CONSENT_PURPOSES)}")
        return sorted(set(value))


class LeadSubmission(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              str_strip_whitespace=True)

    first_name: Annotated[HeaderText, Field(max_length=100)] | None = None
    last_name: Annotated[HeaderText, Field(max_length=100)] | None = None
    email: Annotated[HeaderText, Field(max_length=254)] | None = None
    phone: Annotated[HeaderText, Field(max_length=40)] | None = None
    company: Annotated[HeaderText, Field(max_length=200)] | None = None
    job_title: Annotated[HeaderText, Field(max_length=150)] | None = None
    street: Annotated[HeaderText, Field(max_length=200)] | None = None
    postal_code: Annotated[HeaderText, Field(max_length=20)] | None = None
    city: Annotated[HeaderText, Field(max_length=100)] | None = None
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)] | None = None
    interests: list[Annotated[HeaderText, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20)
    message: Annotated[str, Field(max_length=5000)] | None = None
    source: Annotated[HeaderText, Field(max_length=100)] | None = None
    campaign: Annotated[HeaderText, Field(max_length=100)] | None = None
    form_id: Annotated[HeaderText, Field(max_length=100)] | None = None
    consent: Consent | None = None
    idempotency_key: str | None = None
    # the web analytics cookie id of the visitor (events before the form join the lead with consent)
    visitor_id: Annotated[str, StringConstraints(strip_whitespace=True,
                                                 pattern=r"^[A-Za-z0-9_.:\-]{8,128}$")] | None = None
    language: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                               pattern=r"^(de|en)$")] | None = None
    # how the person wants to be contacted, and an age group if the form asks (seed 002: channel by segment)
    preferred_channel: Literal["email", "phone", "postal"] | None = None
    age_group: Literal["under-20", "20-30", "31-44", "45-59", "60+"] | None = None

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in _country_codes():
            raise ValueError("must be an ISO 3166-1 alpha-2 country code such as DE, AT, CH")
        return value

    @field_validator("idempotency_key")
    @classmethod
    def _key_shape(cls, value: str | None) -> str | None:
        if value is not None and not _IDEMPOTENCY_KEY.match(value):
            raise ValueError("must be 8 to 128 characters of letters, digits, '_', '-', '.', ':'")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_missing(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def digest(self) -> str:
        """Identifies the same form submission sent twice (the idempotency key left out)."""
        payload = self.model_dump(mode="json", exclude={"idempotency_key"}, exclude_none=True)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class FieldError(BaseModel):
    field: str
    rule: str
    message: str


_RULES = {
    "string_too_long": "max_length", "too_long": "max_items", "string_too_short": "min_length",
    "string_pattern_mismatch": "pattern", "string_type": "type_string", "list_type": "type_list",
    "model_type": "type_object", "dict_type": "type_object", "missing": "required",
    "value_error": "format", "extra_forbidden": "unknown_field",
}
# What each pattern the models use means, as (rule, message): a pattern mismatch names the real rule.
PATTERN_RULES: dict[str, tuple[str, str]] = {
    _HEADER_SAFE.pattern: ("no_line_breaks", "must not contain line breaks"),
    r"^[A-Za-z0-9_.:\-]{8,128}$": ("id_format", "must be 8 to 128 characters: letters, digits, _ . : -"),
    r"^[A-Za-z0-9_\-]{8,64}$": ("key_format", "must be 8 to 64 characters: letters, digits, _ -"),
    r"^(de|en)$": ("one_of", "must be de or en"),
}


def field_errors(error: ValidationError) -> list[FieldError]:
    """Pydantic errors as `{field, rule, message}`, the field named as the client sent it."""
    out = []
    for item in error.errors():
        path = ".".join(to_camel(str(p)) if isinstance(p, str) else f"[{p}]" for p in item["loc"])
        path = path.replace(".[", "[")
        rule = _RULES.get(item["type"], item["type"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch":
            pattern = str((item.get("ctx") or {}).get("pattern", ""))
            rule, message = PATTERN_RULES.get(pattern, (rule, message))
        out.append(FieldError(field=path or "body", rule=rule, message=message))
    return out


def parse_submission(data: Any) -> LeadSubmission:
    return LeadSubmission.model_validate(data)


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def email_marker(email: str | None, key: bytes) -> str | None:
    """The uniqueness marker of an address: its keyed hash (HMAC-SHA256 with the product's hash
    key), so the marker holds no personal data and cannot be matched against a list of addresses."""
    normalized = normalize_email(email)
    return f"email#{hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()}" if normalized else None
