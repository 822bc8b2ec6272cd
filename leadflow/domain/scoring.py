"""Rule scoring: fit (who the lead is) plus engagement (what the lead did, decayed),
each point explained, graded hot / normal / cold with a recommended action.

Engagement is kept as a decayed sum per event type, so one new event updates
the score in O(1): value(now) = value(as_of) * 2^(-(now - as_of) / half_life) + points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENGAGEMENT_EVENTS = ("email_open", "email_click", "page_visit", "download", "webinar_attended",
                     "contact_request")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionPoints(_Strict):
    countries: dict[str, int] = Field(default_factory=dict)
    default: int = 0


class Completeness(_Strict):
    phone: int = 0
    company: int = 0
    job_title: int = 0
    postal_address: int = 0


class FitRules(_Strict):
    seniority: dict[str, int] = Field(default_factory=dict)
    email_domain_type: dict[str, int] = Field(default_factory=dict)
    region: RegionPoints = RegionPoints()
    completeness: Completeness = Completeness()
    existing_customer: int = 0
    key_account: int = 0
    creditworthiness: dict[str, int] = Field(default_factory=dict)
    request: dict[str, int] = Field(default_factory=dict)
    source: dict[str, int] = Field(default_factory=dict)


class EventRule(_Strict):
    points: float
    half_life_days: float = Field(gt=0)
    group: str


class EngagementRules(_Strict):
    events: dict[str, EventRule]
    caps: dict[str, float] = Field(default_factory=dict)


class GradeRule(_Strict):
    grade: str
    min_total: float
    action: str
    channel: str


class ScoringRules(_Strict):
    version: int = 1
    fit: FitRules
    quote_keywords: list[str] = Field(default_factory=list)
    engagement: EngagementRules
    grades: list[GradeRule] = Field(min_length=1)
    mql_threshold: float

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ScoringRules:
        rules = cls.model_validate(document)
        unknown = sorted(set(rules.engagement.events) - set(ENGAGEMENT_EVENTS))
        if unknown:
            raise ValueError(f"engagement.events.{unknown[0]}: unknown event type; "
                             f"known: {', '.join(ENGAGEMENT_EVENTS)}")
        return rules


@dataclass(frozen=True)
class LeadProfile:
    """What fit scoring reads about a lead (all optional)."""

    seniority: str | None = None
    email_domain_type: str | None = None
    country: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    existing_customer: bool = False
    key_account: bool = False
    creditworthiness: str | None = None
    message: str | None = None
    form_id: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Factor:
    factor: str
    points: float


@dataclass(frozen=True)
class Score:
    fit: float
    engagement: float
    total: float
    grade: str
    action: str
    channel: str
    reasons: list[Factor] = field(default_factory=list)
    rules_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"fit": self.fit, "engagement": self.engagement, "total": self.total, "grade": self.grade,
                "action": self.action, "channel": self.channel, "rules_version": self.rules_version,
                "reasons": [{"factor": f.factor, "points": f.points} for f in self.reasons]}


def is_quote_request(profile: LeadProfile, rules: ScoringRules) -> bool:
    text = f"{profile.message or ''} {profile.form_id or ''}".casefold()
    return any(word in text for word in rules.quote_keywords)


def fit_factors(p: LeadProfile, rules: ScoringRules) -> list[Factor]:
    fit = rules.fit
    out: list[Factor] = []

    def add(name: str, points: float) -> None:
        if points:
            out.append(Factor(name, float(points)))

    if p.seniority:
        add(f"seniority: {p.seniority}", fit.seniority.get(p.seniority, 0))
    if p.email_domain_type:
        add(f"email domain: {p.email_domain_type}", fit.email_domain_type.get(p.email_domain_type, 0))
    if p.country:
        add(f"country: {p.country}", fit.region.countries.get(p.country, fit.region.default))
    add("complete: phone", fit.completeness.phone if p.phone else 0)
    add("complete: company", fit.completeness.company if p.company else 0)
    add("complete: job title", fit.completeness.job_title if p.job_title else 0)
    add("complete: postal address",
        fit.completeness.postal_address if (p.street and p.postal_code and p.city) else 0)
    add("existing customer", fit.existing_customer if p.existing_customer else 0)
    add("key account", fit.key_account if p.key_account else 0)
    if p.creditworthiness:
        add(f"creditworthiness: {p.creditworthiness}", fit.creditworthiness.get(p.creditworthiness, 0))
    request = "quote" if is_quote_request(p, rules) else ("enquiry" if p.message else None)
    if request:
        add(f"request: {request}", fit.request.get(request, 0))
    if p.source:
        add(f"source: {p.source}", fit.source.get(p.source.lower(), 0))
    return out


# ----------------------------------------------------------------- engagement

EngagementState = dict[str, list]  # event type -> [decayed value, as-of ISO time]


def _decay(value: float, since: datetime, now: datetime, half_life_days: float) -> float:
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    return value * math.pow(0.5, days / half_life_days)


def add_event(state: EngagementState, event_type: str, at: datetime, rules: ScoringRules) -> EngagementState:
    """The state after one more event (events may arrive late or out of order)."""
    rule = rules.engagement.events.get(event_type)
    if rule is None:
        return dict(state)
    new = dict(state)
    value, as_of = (state.get(event_type) or [0.0, at.isoformat()])
    as_of_dt = datetime.fromisoformat(as_of)
    if at >= as_of_dt:
        new[event_type] = [_decay(float(value), as_of_dt, at, rule.half_life_days) + rule.points, at.isoformat()]
    else:  # a late event: decay its own points to the state's time
        new[event_type] = [float(value) + _decay(rule.points, at, as_of_dt, rule.half_life_days), as_of]
    return new


def engagement_factors(state: EngagementState, now: datetime, rules: ScoringRules) -> list[Factor]:
    by_group: dict[str, float] = {}
    out: list[Factor] = []
    for event_type, (value, as_of) in sorted(state.items()):
        rule = rules.engagement.events.get(event_type)
        if rule is None:
            continue
        points = _decay(float(value), datetime.fromisoformat(as_of), now, rule.half_life_days)
        cap = rules.engagement.caps.get(rule.group)
        already = by_group.get(rule.group, 0.0)
        if cap is not None:
            points = max(min(points, cap - already), 0.0)
        by_group[rule.group] = already + points
        if points >= 0.05:
            out.append(Factor(f"engagement: {event_type.replace('_', ' ')}", round(points, 1)))
    return out


def score(profile: LeadProfile, state: EngagementState, now: datetime, rules: ScoringRules) -> Score:
    fit = fit_factors(profile, rules)
    engagement = engagement_factors(state, now, rules)
    fit_total = round(sum(f.points for f in fit), 1)
    engagement_total = round(sum(f.points for f in engagement), 1)
    total = round(fit_total + engagement_total, 1)
    grade = next(g for g in sorted(rules.grades, key=lambda g: -g.min_total) if total >= g.min_total) \
        if any(total >= g.min_total for g in rules.grades) else rules.grades[-1]
    reasons = sorted(fit + engagement, key=lambda f: -abs(f.points))
    return Score(fit=fit_total, engagement=engagement_total, total=total, grade=grade.grade,
                 action=grade.action, channel=grade.channel, reasons=reasons, rules_version=rules.version)


def mql_reason(total: float, rules: ScoringRules, *, contact_request: bool, quote_request: bool) -> str | None:
    """Why this lead is marketing qualified now, or None (seed 002: score limit or explicit request)."""
    if contact_request:
        return "asked to be contacted by sales"
    if quote_request:
        return "requested a quote"
    if total >= rules.mql_threshold:
        return f"score {total:g} reached the MQL threshold {rules.mql_threshold:g}"
    return None
