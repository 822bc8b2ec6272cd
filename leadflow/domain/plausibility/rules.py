"""The versioned lists and the severity policy (`config/plausibility.yaml`) as one object.

`PlausibilityRules.from_dict` turns the YAML document into folded frozensets
and compiled regexes once, so each check is a set lookup. A bad document is
refused with the key that is wrong (ValueError), before it can be used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import INFO, REJECT, REVIEW, SEVERITIES
from .text import fold

CONFIG_FILE_NAME = "plausibility.yaml"


@dataclass(frozen=True, eq=False)  # identity equality: usable as a cache key
class PlausibilityRules:
    version: str
    severity: Mapping[str, str]
    review_reasons_to_reject: int = 3
    big_city_population_class: int = 5
    default_phone_region: str = "DE"
    fallback_phone_regions: tuple[str, ...] = ()
    country_aliases: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    name_words_review: int = 5
    name_words_reject: int = 8
    # placeholders (all folded)
    person_names: frozenset[str] = frozenset()
    surnames: frozenset[str] = frozenset()
    fictional_names: frozenset[str] = frozenset()
    celebrity_names: frozenset[str] = frozenset()
    name_words: frozenset[str] = frozenset()
    name_spam_words: frozenset[str] = frozenset()
    placeholder_values: frozenset[str] = frozenset()
    filler_words: frozenset[str] = frozenset()
    salutations: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()
    company_filler: frozenset[str] = frozenset()
    company_placeholder_words: frozenset[str] = frozenset()
    company_placeholder_prefixes: tuple[str, ...] = ()
    company_generic_words: frozenset[str] = frozenset()
    cities: frozenset[str] = frozenset()
    streets: frozenset[str] = frozenset()
    street_prefixes: tuple[str, ...] = ()
    email_domains: frozenset[str] = frozenset()
    email_domain_labels: frozenset[str] = frozenset()
    email_local_parts: frozenset[str] = frozenset()
    email_test_tokens: frozenset[str] = frozenset()
    placeholder_phones: frozenset[str] = frozenset()
    fictional_phones: re.Pattern[str] | None = None
    # mash
    mash_words: frozenset[str] = frozenset()
    mash_allow: frozenset[str] = frozenset()
    keyboard_rows: tuple[str, ...] = ()
    min_run: int = 4
    min_vowelless_length: int = 5
    max_case_switches: int = 2
    # email
    providers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    provider_domains: frozenset[str] = frozenset()
    strict_labels: frozenset[str] = frozenset()
    typo_domains: Mapping[str, str] = field(default_factory=dict)
    typo_tlds: frozenset[str] = frozenset()
    common_tlds: tuple[str, ...] = ()
    generic_tlds: frozenset[str] = frozenset()
    disposable_extra: frozenset[str] = frozenset()
    disposable_allow: frozenset[str] = frozenset()
    role_local_parts: frozenset[str] = frozenset()
    rare_bigrams: frozenset[str] = frozenset()
    # message
    spam_phrases: tuple[str, ...] = ()
    spam_pattern: re.Pattern[str] | None = None
    max_urls: int = 3
    message_empty_words: frozenset[str] = frozenset()
    # postal codes
    postal_overrides: Mapping[str, re.Pattern[str] | None] = field(default_factory=dict)
    postal_prefixes: frozenset[str] = frozenset()
    postal_regions: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    def severity_of(self, code: str) -> str:
        return self.severity.get(code, REVIEW)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> PlausibilityRules:
        return _parse(document)


# ------------------------------------------------------------------------------------------
# Parsing the document
# ------------------------------------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    """Refuse a bad document with the key that is wrong (a ValueError, like pydantic's)."""
    if not condition:
        raise ValueError(message)


def _section(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key) or {}
    _require(isinstance(value, Mapping), f"{key}: must be a mapping")
    return value


def _words(section: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    return frozenset(fold(item) for item in _string_list(section.get(key), f"{where}.{key}")) - {""}


def _string_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    _require(
        isinstance(value, list) and all(isinstance(item, (str, int)) for item in value),
        f"{where}: must be a list of strings",
    )
    return [str(item) for item in value]


def _int(section: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    _require(
        isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        f"{where}.{key}: must be a non-negative integer",
    )
    return value


def _severity(policy: Mapping[str, Any]) -> dict[str, str]:
    table = policy.get("severity") or {}
    _require(isinstance(table, Mapping), "policy.severity: must be a mapping of reason code to reject|review|info")
    for code, level in table.items():
        _require(level in SEVERITIES, f"policy.severity.{code}: must be one of {', '.join(SEVERITIES)}")
    return dict(table)


def _limits(document: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    limits = {}
    for name, pair in _section(document, "limits").items():
        _require(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair),
            f"limits.{name}: must be [review_length, reject_length]",
        )
        limits[name] = (pair[0], pair[1])
    return limits


def _providers(email: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    providers = email.get("providers") or {}
    _require(isinstance(providers, Mapping), "email.providers: must be a mapping of label to domains")
    return {
        str(label).lower(): frozenset(d.lower() for d in _string_list(domains, f"email.providers.{label}"))
        for label, domains in providers.items()
    }


def _typo_domains(email: Mapping[str, Any]) -> dict[str, str]:
    table = email.get("typo_domains") or {}
    _require(isinstance(table, Mapping), "email.typo_domains: must be a mapping of typo to correct domain")
    return {str(typo).lower(): str(right).lower() for typo, right in table.items()}


def _postal_overrides(postal: Mapping[str, Any]) -> dict[str, re.Pattern[str] | None]:
    overrides = {}
    for country, pattern in (postal.get("overrides") or {}).items():
        _require(isinstance(pattern, str), f"postal_codes.overrides.{country}: must be a regex string ('' for none)")
        try:
            overrides[str(country).upper()] = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as exc:
            raise ValueError(f"postal_codes.overrides.{country}: bad regex: {exc}") from None
    return overrides


def _postal_regions(postal: Mapping[str, Any]) -> dict[str, dict[str, frozenset[str]]]:
    regions = postal.get("regions") or {}
    _require(isinstance(regions, Mapping), "postal_codes.regions: must map countries to {first digit: [admin1]}")
    table: dict[str, dict[str, frozenset[str]]] = {}
    for country, digits in regions.items():
        _require(isinstance(digits, Mapping), f"postal_codes.regions.{country}: must map first digits to [admin1]")
        table[str(country).upper()] = {
            str(digit): frozenset(_string_list(codes, f"postal_codes.regions.{country}.{digit}"))
            for digit, codes in digits.items()
        }
    return table


def _fictional_phones(document: Mapping[str, Any]) -> re.Pattern[str] | None:
    """One regex over the E.164 digits (country code + national number, no +)."""
    ranges = _string_list(_section(document, "phones").get("fictional"), "phones.fictional")
    for item in ranges:
        try:
            re.compile(item)
        except re.error as exc:
            raise ValueError(f"phones.fictional: bad regex {item!r}: {exc}") from None
    return re.compile("|".join(f"(?:{item})" for item in ranges) + r"$") if ranges else None


def _spam_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    phrases = [p.lower() for p in phrases if p.strip()]
    if not phrases:
        return None
    # Word boundaries on both ends unless the phrase itself ends in a symbol ("earn $").
    parts = [
        (r"\b" if p[0].isalnum() else "") + re.escape(p) + (r"\b" if p[-1].isalnum() else "") for p in phrases
    ]
    return re.compile("|".join(parts), re.IGNORECASE)


def _parse(document: Mapping[str, Any]) -> PlausibilityRules:
    _require(isinstance(document, Mapping), "the plausibility rules must be a mapping")
    _require("version" in document, "version: required")
    policy = _section(document, "policy")
    placeholders = _section(document, "placeholders")
    mash = _section(document, "mash")
    email = _section(document, "email")
    message = _section(document, "message")
    postal = _section(document, "postal_codes")
    name_words = _section(document, "name_words")
    providers = _providers(email)
    spam_phrases = tuple(_string_list(message.get("spam_phrases"), "message.spam_phrases"))
    aliases = document.get("country_aliases") or {}
    _require(isinstance(aliases, Mapping), "country_aliases: must be a mapping")
    return PlausibilityRules(
        version=str(document["version"]),
        severity=_severity(policy),
        review_reasons_to_reject=_int(policy, "review_reasons_to_reject", 3, "policy"),
        big_city_population_class=_int(policy, "big_city_population_class", 5, "policy"),
        default_phone_region=str(document.get("default_phone_region") or "DE").upper(),
        fallback_phone_regions=tuple(
            r.upper() for r in _string_list(document.get("fallback_phone_regions"), "fallback_phone_regions")
        ),
        country_aliases={str(k).upper(): str(v).upper() for k, v in aliases.items()},
        limits=_limits(document),
        name_words_review=_int(name_words, "review", 5, "name_words"),
        name_words_reject=_int(name_words, "reject", 8, "name_words"),
        person_names=_words(placeholders, "person_names", "placeholders"),
        surnames=_words(placeholders, "surnames", "placeholders"),
        fictional_names=_words(placeholders, "fictional_names", "placeholders"),
        celebrity_names=_words(placeholders, "celebrity_names", "placeholders"),
        name_words=_words(placeholders, "name_words", "placeholders"),
        name_spam_words=_words(placeholders, "name_spam_words", "placeholders"),
        placeholder_values=_words(placeholders, "values", "placeholders"),
        filler_words=_words(placeholders, "filler_words", "placeholders"),
        salutations=_words(placeholders, "salutations", "placeholders"),
        titles=_words(placeholders, "titles", "placeholders"),
        companies=_words(placeholders, "companies", "placeholders"),
        company_filler=_words(placeholders, "company_filler", "placeholders"),
        company_placeholder_words=_words(placeholders, "company_words", "placeholders"),
        company_placeholder_prefixes=tuple(sorted(_words(placeholders, "company_prefixes", "placeholders"),
                                                  key=len, reverse=True)),
        company_generic_words=_words(placeholders, "company_generic_words", "placeholders"),
        cities=_words(placeholders, "cities", "placeholders"),
        streets=_words(placeholders, "streets", "placeholders"),
        street_prefixes=tuple(sorted(_words(placeholders, "street_prefixes", "placeholders"))),
        email_domains=frozenset(
            d.lower() for d in _string_list(placeholders.get("email_domains"), "placeholders.email_domains")),
        email_domain_labels=_words(placeholders, "email_domain_labels", "placeholders"),
        email_local_parts=_words(placeholders, "email_local_parts", "placeholders"),
        email_test_tokens=_words(placeholders, "email_test_tokens", "placeholders"),
        placeholder_phones=frozenset(_string_list(placeholders.get("phones"), "placeholders.phones")),
        fictional_phones=_fictional_phones(document),
        mash_words=_words(mash, "words", "mash"),
        mash_allow=_words(mash, "allow_words", "mash"),
        keyboard_rows=tuple(fold(row) for row in _string_list(mash.get("keyboard_rows"), "mash.keyboard_rows")),
        min_run=_int(mash, "min_run", 4, "mash"),
        min_vowelless_length=_int(mash, "min_vowelless_length", 5, "mash"),
        max_case_switches=_int(mash, "max_case_switches", 2, "mash"),
        providers=providers,
        provider_domains=frozenset().union(*providers.values()) if providers else frozenset(),
        strict_labels=frozenset(s.lower() for s in _string_list(email.get("strict_labels"), "email.strict_labels")),
        typo_domains=_typo_domains(email),
        typo_tlds=frozenset(t.lower() for t in _string_list(email.get("typo_tlds"), "email.typo_tlds")),
        common_tlds=tuple(t.lower() for t in _string_list(email.get("common_tlds"), "email.common_tlds")),
        generic_tlds=frozenset(t.lower() for t in _string_list(email.get("generic_tlds"), "email.generic_tlds")),
        disposable_extra=frozenset(
            d.lower() for d in _string_list(email.get("disposable_extra"), "email.disposable_extra")),
        disposable_allow=frozenset(
            d.lower() for d in _string_list(email.get("disposable_allow"), "email.disposable_allow")),
        role_local_parts=_words(email, "role_local_parts", "email"),
        rare_bigrams=_words(email, "rare_bigrams", "email"),
        spam_phrases=spam_phrases,
        spam_pattern=_spam_pattern(spam_phrases),
        max_urls=_int(message, "max_urls", 3, "message"),
        message_empty_words=_words(message, "empty_words", "message"),
        postal_overrides=_postal_overrides(postal),
        postal_prefixes=frozenset(p.upper() for p in _string_list(postal.get("prefixes"), "postal_codes.prefixes")),
        postal_regions=_postal_regions(postal),
    )


# ------------------------------------------------------------------------------------------
# Finding and loading the shipped file
# ------------------------------------------------------------------------------------------


def config_path() -> Path:
    """`$LEADFLOW_CONFIG_DIR/plausibility.yaml`, else the repository's `config/` (also the
    working directory's `config/`, for an installed package run from a checkout)."""
    override = os.environ.get("LEADFLOW_CONFIG_DIR")
    if override:
        return Path(override) / CONFIG_FILE_NAME
    candidates = [
        Path(__file__).resolve().parents[3] / "config" / CONFIG_FILE_NAME,
        Path.cwd() / "config" / CONFIG_FILE_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def load_rules_file(path: Path) -> PlausibilityRules:
    import yaml  # imported here: only the first check of a process pays for it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        document = yaml.load(fh, Loader=loader)  # a safe loader (C or Python)
    return PlausibilityRules.from_dict(document or {})


@lru_cache(maxsize=1)
def load_default_rules() -> PlausibilityRules:
    """The shipped rules, read once per process."""
    path = config_path()
    if not path.is_file():
        raise FileNotFoundError(f"plausibility rules not found at {path}; set LEADFLOW_CONFIG_DIR")
    return load_rules_file(path)


__all__ = ["INFO", "REJECT", "REVIEW", "PlausibilityRules", "config_path", "load_default_rules", "load_rules_file"]
