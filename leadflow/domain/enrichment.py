"""Offline enrichment: what the form data tells sales beyond what was typed.

Email domain type (business / free mail / disposable), the company domain,
seniority and decision-maker level from the job title (German and English),
region from the postal code, and interest areas from form values and URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cached_property
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field


class SeniorityLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: str
    decision: str
    patterns: list[str]
    # German compound titles: a word ending in one of these (Einkaufs|leiterin, Haupt|geschäftsführer).
    compound_heads: list[str] = Field(default_factory=list)


class PostalRegion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    macro: str


class EnrichmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = 1
    free_mail_domains: list[str]
    seniority: list[SeniorityLevel]
    postal_regions: dict[str, dict[str, PostalRegion]]

    @classmethod
    def from_dict(cls, document: dict) -> EnrichmentRules:
        return cls.model_validate(document)

    @cached_property
    def _free(self) -> frozenset[str]:
        return frozenset(d.lower() for d in self.free_mail_domains)

    @cached_property
    def _seniority(self) -> list[tuple[SeniorityLevel, re.Pattern[str]]]:
        return [(lvl, re.compile(r"(?<![\w])(" + "|".join(lvl.patterns) + r")(?![\w])", re.IGNORECASE))
                for lvl in self.seniority]

    @cached_property
    def _compound_heads(self) -> list[tuple[SeniorityLevel, re.Pattern[str]]]:
        return [(lvl, re.compile(r"(?:" + "|".join(lvl.compound_heads) + r")$", re.IGNORECASE))
                for lvl in self.seniority if lvl.compound_heads]


class InterestArea(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: dict[str, str]
    aliases: list[str]
    url_patterns: list[str] = Field(default_factory=list)


class InterestRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = 1
    areas: dict[str, InterestArea]

    @classmethod
    def from_dict(cls, document: dict) -> InterestRules:
        return cls.model_validate(document)


@dataclass(frozen=True)
class Enrichment:
    email_domain: str | None
    email_domain_type: str | None  # business | free_mail | disposable
    company_domain: str | None
    seniority: str | None  # executive | director | manager | professional | student
    decision_level: str | None  # decision_maker | influencer | user | none
    region: str | None  # e.g. "DE-8"
    region_name: str | None
    macro_region: str | None  # north | south | east | west | central

    def to_dict(self) -> dict:
        return asdict(self)


def email_domain_type(domain: str | None, rules: EnrichmentRules) -> str | None:
    if not domain:
        return None
    from disposable_email_domains import blocklist

    parts = domain.lower().split(".")
    # a disposable domain's subdomains are disposable too (x.mailinator.com)
    if any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1)):
        return "disposable"
    if domain.lower() in rules._free:
        return "free_mail"
    return "business"


def seniority_of(job_title: str | None, rules: EnrichmentRules) -> tuple[str | None, str | None]:
    """Whole-word patterns first (most senior level first); else the German compound words of the
    title by their head (Einkaufsleiterin -> leiterin). The longest head wins, so a more specific
    head (Vertriebsteamleiter -> teamleiter) beats a general one (leiter)."""
    if not job_title:
        return None, None
    for level, pattern in rules._seniority:
        if pattern.search(job_title):
            return level.level, level.decision
    best: tuple[int, SeniorityLevel] | None = None
    for word in re.findall(r"\w+", job_title):
        for level, head in rules._compound_heads:
            found = head.search(word)
            if found and (best is None or len(found.group()) > best[0]):  # ties: the more senior level
                best = (len(found.group()), level)
    return (best[1].level, best[1].decision) if best else (None, None)


def region_of(country: str | None, postal_code: str | None, rules: EnrichmentRules
              ) -> tuple[str | None, PostalRegion | None]:
    if not country or not postal_code:
        return None, None
    zones = rules.postal_regions.get(country.upper())
    digits = re.sub(r"\D", "", postal_code)
    if not zones or not digits:
        return None, None
    for length in (2, 1):  # the most specific zone configured wins
        key = digits[:length]
        if key in zones:
            return f"{country.upper()}-{key}", zones[key]
    return None, None


def enrich(*, email: str | None, company: str | None, job_title: str | None, country: str | None,
           postal_code: str | None, rules: EnrichmentRules) -> Enrichment:
    domain = email.rsplit("@", 1)[1].strip().lower() if email and "@" in email else None
    domain_type = email_domain_type(domain, rules)
    seniority, decision = seniority_of(job_title, rules)
    region, zone = region_of(country, postal_code, rules)
    return Enrichment(
        email_domain=domain, email_domain_type=domain_type,
        company_domain=domain if domain_type == "business" else None,
        seniority=seniority, decision_level=decision, region=region,
        region_name=zone.name if zone else None, macro_region=zone.macro if zone else None,
    )


def _fold(text: str) -> str:
    return (text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
            .strip())


def _url_path(url: str | None) -> str:
    try:
        return urlsplit(url or "").path.lower()
    except ValueError:
        return ""


def interest_areas(values: Iterable[str], rules: InterestRules, urls: Iterable[str] = ()) -> list[str]:
    """Map free form values ("Lagerlogistik", "ERP") and visited URLs to configured areas.
    A URL counts by its path (`url_patterns` such as "/lager" in /de/lager/wms), not its host."""
    found: list[str] = []
    folded = [_fold(v) for v in values if v]
    paths = [_url_path(u) for u in urls]
    for area, spec in rules.areas.items():
        aliases = {_fold(a) for a in spec.aliases} | {_fold(area)}
        hit = any(v in aliases or any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", v) for a in aliases)
                  for v in folded)
        hit = hit or any(p.lower() in path for path in paths for p in spec.url_patterns)
        if hit:
            found.append(area)
    return found


def with_areas(current: Iterable[str] | None, found: Iterable[str]) -> list[str]:
    """The lead's areas plus newly found ones, in order: an area its form or its visits showed stays."""
    out = list(current or [])
    return out + [area for area in dict.fromkeys(found) if area not in out]
