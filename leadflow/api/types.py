"""GraphQL types. Each maps one domain/store object with `from_model`."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from leadflow.domain.lifecycle import Quality, Stage
from leadflow.store.models import ConfigModel, HistoryModel, LeadModel

StageEnum = strawberry.enum(Stage, name="Stage", description="Where a lead is in the funnel.")
QualityEnum = strawberry.enum(Quality, name="Quality", description="Data quality, separate from the stage.")


@strawberry.type(description="One recorded change of a lead: append-only.")
class HistoryEntry:
    seq: int
    kind: str = strawberry.field(description="stage | quality | review | assignment | note")
    from_stage: Stage | None
    to_stage: Stage | None
    at: datetime
    actor: str = strawberry.field(description="user id, or system:<function> / rule:<name>")
    reason: str | None

    @classmethod
    def from_model(cls, item: HistoryModel) -> "HistoryEntry":
        return cls(seq=int(item.seq), kind=item.kind,
                   from_stage=Stage(item.from_stage) if item.from_stage else None,
                   to_stage=Stage(item.to_stage) if item.to_stage else None,
                   at=item.at, actor=item.actor, reason=item.reason)


@strawberry.type(description="A correction the checks propose; correctLead applies it by id.")
class SuggestedCorrection:
    id: strawberry.ID = strawberry.field(description="Stable for the lead's current verdict, e.g. city_spelling.city.")
    field: str = strawberry.field(description="The capture field it changes (city, email, phone, firstName, ...).")
    current: str
    suggested: str = strawberry.field(description="The proposed value; empty means: clear the field.")
    reason: str = strawberry.field(description="The reason code it belongs to.")

    @classmethod
    def from_dict(cls, d: dict, reason: str) -> "SuggestedCorrection":
        return cls(id=strawberry.ID(d.get("id", "")), field=d.get("field", ""), current=d.get("current", ""),
                   suggested=d.get("suggested", ""), reason=reason)


@strawberry.type
class QualityReason:
    code: str
    field: str | None
    message: str
    suggestions: list[SuggestedCorrection] = strawberry.field(default_factory=list)


@strawberry.type
class Consent:
    purposes: list[str]
    text_version: str | None
    given_at: datetime | None


@strawberry.type(description="What the form data tells beyond what was typed (offline enrichment).")
class Enrichment:
    email_domain: str | None
    email_domain_type: str | None = strawberry.field(description="business | free_mail | disposable")
    company_domain: str | None
    seniority: str | None = strawberry.field(description="executive | director | manager | professional | student")
    decision_level: str | None = strawberry.field(description="decision_maker | influencer | user | none")
    region: str | None
    region_name: str | None
    macro_region: str | None

    @classmethod
    def from_dict(cls, d: dict | None) -> "Enrichment | None":
        if not d:
            return None
        return cls(**{k: d.get(k) for k in ("email_domain", "email_domain_type", "company_domain", "seniority",
                                             "decision_level", "region", "region_name", "macro_region")})


@strawberry.type
class ScoreReason:
    factor: str
    points: float


@strawberry.type(description="The explained rule score: fit (who) + engagement (what they did, decayed).")
class Score:
    fit: float
    engagement: float
    total: float
    grade: str = strawberry.field(description="hot | normal | cold")
    action: str = strawberry.field(description="The recommended next action for this grade.")
    channel: str = strawberry.field(description="The recommended channel for this grade.")
    rules_version: int
    reasons: list[ScoreReason]

    @classmethod
    def from_dict(cls, d: dict | None) -> "Score | None":
        if not d:
            return None
        return cls(fit=d["fit"], engagement=d["engagement"], total=d["total"], grade=d["grade"],
                   action=d["action"], channel=d["channel"], rules_version=int(d.get("rules_version", 1)),
                   reasons=[ScoreReason(factor=r["factor"], points=r["points"]) for r in d.get("reasons", [])])


@strawberry.type
class PredictionFactor:
    feature: str
    value: str | None
    contribution: float = strawberry.field(description="log-odds against the average training lead")


@strawberry.type(description="The predictive model's probability that this lead converts, and why.")
class Prediction:
    probability: float
    model_version: int
    factors: list[PredictionFactor]

    @classmethod
    def from_dict(cls, d: dict | None) -> "Prediction | None":
        if not d:
            return None
        return cls(probability=d["probability"], model_version=int(d["model_version"]),
                   factors=[PredictionFactor(feature=f["feature"], value=None if f.get("value") is None
                                             else str(f["value"]), contribution=f["contribution"])
                            for f in d.get("factors", [])])


@strawberry.type(description="One engagement event on the lead's timeline, or an activity a person logged "
                             "(note, call, meeting, email, task: with its id and author; details hold its text).")
class TimelineEvent:
    type: str
    at: datetime
    details: JSON | None
    id: strawberry.ID | None = strawberry.field(default=None, description="An activity's id (updateActivity).")
    author: str | None = strawberry.field(default=None, description="Who logged the activity.")


@strawberry.type(description="One documented consent (UWG §7): what text, when, from which form, DOI times.")
class ConsentRecord:
    purpose: str
    status: str = strawberry.field(description="pending | confirmed | withdrawn | expired")
    text_version: str
    text_hash: str
    form_id: str | None
    given_at: datetime
    doi_sent_at: datetime | None
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_via: str | None
    expires_at: datetime | None


@strawberry.type(description="Where the lead is in its nurturing journey.")
class JourneyRun:
    step_id: str
    at: datetime
    outcome: str = strawberry.field(description="sent | task | skipped | unknown (no answer from SES: not sent "
                                                "again) | failed (SES refused it)")
    channel: str | None
    why: str | None
    opened_at: datetime | None
    clicked_at: datetime | None


@strawberry.type
class JourneyState:
    journey_id: str | None
    entered_at: datetime | None
    next_step_due: datetime | None
    stopped: str | None
    unsubscribed_at: datetime | None
    email_status: str
    runs: list[JourneyRun]


@strawberry.type(description="BANT answers a rep recorded with qualifyLead (sales and admins only).")
class Qualification:
    budget: str | None
    authority: str | None
    need: str | None
    timeline: str | None

    @classmethod
    def from_dict(cls, d: dict | None) -> "Qualification | None":
        if not d:
            return None
        return cls(budget=d.get("budget"), authority=d.get("authority"), need=d.get("need"),
                   timeline=d.get("timeline"))


@strawberry.type(description="The deal from convertToOpportunity and closeOpportunity. No personal data.")
class Opportunity:
    amount: float = strawberry.field(description="In currency units; the won amount once won.")
    currency: str
    expected_close: date | None
    lost_reason_code: str | None = strawberry.field(
        description='Why it was lost: a code from config/sales.yaml or "other" (the text: Lead.closeReason).')
    probability: float | None = strawberry.field(description="Win probability 0..1, kept by the owner.")
    weighted_amount: float | None = strawberry.field(description="amount x probability (the forecast's share).")
    last_activity_at: datetime | None = strawberry.field(description="When the deal was last updated.")

    @classmethod
    def from_dict(cls, d: dict | None) -> "Opportunity | None":
        if not d or d.get("amount_cents") is None:
            return None
        close, touched = d.get("expected_close"), d.get("last_activity")
        cents, probability = int(d["amount_cents"]), d.get("probability")
        return cls(amount=round(cents / 100, 2), currency=d.get("currency") or "EUR",
                   expected_close=date.fromisoformat(close) if close else None,
                   lost_reason_code=d.get("reason_code"),
                   probability=None if probability is None else float(probability),
                   weighted_amount=None if probability is None else round(cents * float(probability)) / 100,
                   last_activity_at=datetime.fromisoformat(touched) if touched else None)


@strawberry.type(description="A contact on its way from form submission to customer.")
class Lead:
    id: strawberry.ID
    stage: Stage
    quality: Quality
    version: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    company: str | None
    job_title: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    interests: list[str]
    message: str | None
    source: str | None
    campaign: str | None
    form_id: str | None
    owner_id: str | None
    consent: Consent | None
    quality_reasons: list[QualityReason]
    enrichment: Enrichment | None
    interest_areas: list[str]
    existing_customer: bool
    key_account: bool
    account_id: str | None
    account_owner_id: str | None
    duplicate_of: str | None = strawberry.field(description="A possible duplicate a reviewer should compare.")
    merged_into: str | None = strawberry.field(description="This submission was merged into that lead.")
    submissions: int
    score: Score | None
    prediction: Prediction | None
    creditworthiness: str | None
    qualification: Qualification | None = strawberry.field(description="BANT answers (sales and admins only).")
    opportunity: Opportunity | None = strawberry.field(description="Amount, currency, expected close, lost code.")
    close_reason: str | None = strawberry.field(description="The won or lost reason as the rep wrote it.")
    erased_at: datetime | None = strawberry.field(description="Personal data erased on request.")
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime

    @strawberry.field(description="Every change, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        items = await info.context["loaders"].history.load(str(self.id))
        return [HistoryEntry.from_model(i) for i in items]

    @strawberry.field(description="Leads the checks flagged as possible duplicates of this one (same phone, "
                                  "or close name and company); each names this lead in duplicateOf.")
    async def possible_duplicates(self, info: strawberry.Info) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in await info.context["loaders"].duplicates.load(str(self.id))]

    @strawberry.field(description="Engagement events and logged activities, newest first (at most 100).")
    async def timeline(self, info: strawberry.Info, first: int = 50) -> list[TimelineEvent]:
        events = await info.context["loaders"].timeline.load((str(self.id), max(1, min(first, 100))))
        from leadflow.store.activities import activity_id_of

        return [TimelineEvent(type=e.event_type, at=e.at, details=e.details,
                              **({"id": strawberry.ID(activity_id_of(e.event_sort)), "author": e.details["author"]}
                                 if (e.details or {}).get("author") else {}))
                for e in events]

    @strawberry.field(description="The consent ledger: one record per purpose and time it was given.")
    async def consents(self, info: strawberry.Info) -> list[ConsentRecord]:
        from leadflow.services.leads import CONSENTS

        return [ConsentRecord(purpose=r.purpose.value, status=r.status.value, text_version=r.text_version,
                              text_hash=r.text_hash, form_id=r.form_id, given_at=r.given_at,
                              doi_sent_at=r.doi_sent_at, confirmed_at=r.confirmed_at, withdrawn_at=r.withdrawn_at,
                              withdrawn_via=r.withdrawn_via, expires_at=r.expires_at)
                for r in await info.context["loaders"].nurture.load((str(self.id), CONSENTS))]

    @strawberry.field(description="The nurturing journey: steps run, skipped, handed to people.")
    async def journey(self, info: strawberry.Info) -> JourneyState | None:
        from leadflow.adapters.clock import from_iso
        from leadflow.services.leads import JOURNEY

        state, runs, due_at = await info.context["loaders"].nurture.load((str(self.id), JOURNEY))
        if state is None:
            return None
        return JourneyState(
            journey_id=state.get("journey_id"), entered_at=from_iso(state.get("entered_at")),
            next_step_due=due_at, stopped=state.get("stopped"),
            unsubscribed_at=from_iso(state.get("unsubscribed_at")), email_status=state.get("email_status", "ok"),
            runs=[JourneyRun(step_id=r.step_id, at=r.at, outcome=r.outcome,
                             channel=r.channel.value if r.channel else None, why=r.why, opened_at=r.opened_at,
                             clicked_at=r.clicked_at) for r in runs])

    @strawberry.field(description=("No sales activity (stage change, deal update) for longer than config/sales.yaml "
                                   "stale_after_days allows for its stage (SAL, SQL, OPPORTUNITY)."))
    def stale(self) -> bool:
        from leadflow.adapters.clock import now
        from leadflow.services.rulesets import active_rules

        touched = self.opportunity.last_activity_at if self.opportunity else None
        last = max(self.stage_entered_at, touched) if touched else self.stage_entered_at
        return active_rules("sales").is_stale(self.stage.value, last, now())

    @strawberry.field(description="Every correction the checks propose for this lead (also under qualityReasons).")
    def suggestions(self) -> list[SuggestedCorrection]:
        return [s for reason in self.quality_reasons for s in reason.suggestions]

    @classmethod
    def from_model(cls, m: LeadModel) -> "Lead":
        consent = None
        if m.consent is not None:
            consent = Consent(purposes=list(m.consent.purposes or []), text_version=m.consent.text_version,
                              given_at=m.consent.given_at)
        reasons = [QualityReason(code=r.get("code", ""), field=r.get("field"), message=r.get("message", ""),
                                 suggestions=[SuggestedCorrection.from_dict(s, r.get("code", ""))
                                              for s in r.get("suggestions") or []])
                   for r in (m.quality_reasons or [])]
        return cls(
            id=strawberry.ID(m.lead_id), stage=Stage(m.stage), quality=Quality(m.quality),
            version=int(m.version), first_name=m.first_name, last_name=m.last_name, email=m.email,
            phone=m.phone, company=m.company, job_title=m.job_title, street=m.street,
            postal_code=m.postal_code, city=m.city, country=m.country, interests=list(m.interests or []),
            message=m.message, source=m.source, campaign=m.campaign, form_id=m.form_id,
            owner_id=m.owner_id, consent=consent, quality_reasons=reasons,
            enrichment=Enrichment.from_dict(m.enrichment), interest_areas=list(m.interest_areas or []),
            existing_customer=bool(m.existing_customer), key_account=bool(m.key_account),
            account_id=m.account_id, account_owner_id=m.account_owner_id, duplicate_of=m.duplicate_of,
            merged_into=m.merged_into, submissions=int(m.submissions or 1), score=Score.from_dict(m.score),
            prediction=Prediction.from_dict(m.prediction),
            creditworthiness=m.creditworthiness, qualification=Qualification.from_dict(m.qualification),
            opportunity=Opportunity.from_dict(m.opportunity), close_reason=m.close_reason, erased_at=m.erased_at,
            created_at=m.created_at,
            updated_at=m.updated_at, stage_entered_at=m.stage_entered_at,
        )


@strawberry.input(description="Corrections a reviewer makes; only the fields given change.")
class LeadPatch:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    job_title: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET

    def to_dict(self) -> dict:
        from pydantic.alias_generators import to_camel

        return {to_camel(k): v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo


@strawberry.type(description="A stored version of a rule set (plausibility, scoring, routing, journeys).")
class ConfigVersion:
    name: str
    version: int
    active: bool
    author: str | None
    created_at: datetime | None
    comment: str | None
    document: JSON

    @classmethod
    def from_model(cls, m: ConfigModel, active_version: int | None) -> "ConfigVersion":
        return cls(name=m.name, version=int(m.version), active=int(m.version) == active_version,
                   author=m.author, created_at=m.created_at, comment=m.comment, document=m.document)


@strawberry.type(description="Who is calling.")
class Viewer:
    user_id: str
    role: str
    name: str | None = strawberry.field(default=None, description="Their name in the sales team (reps, managers).")
    team_ids: list[str] = strawberry.field(default_factory=list, description=(
        "A rep's team, the teams a manager manages (details: the team query)."))
