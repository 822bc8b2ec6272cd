"""GraphQL types. Each maps one domain/store object with `from_model`."""

from __future__ import annotations

from datetime import datetime
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
    def from_model(cls, item: HistoryModel) -> HistoryEntry:
        return cls(seq=int(item.seq), kind=item.kind,
                   from_stage=Stage(item.from_stage) if item.from_stage else None,
                   to_stage=Stage(item.to_stage) if item.to_stage else None,
                   at=item.at, actor=item.actor, reason=item.reason)


@strawberry.type
class QualityReason:
    code: str
    field: str | None
    message: str


@strawberry.type
class Consent:
    purposes: list[str]
    text_version: str | None
    given_at: datetime | None


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
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime

    @strawberry.field(description="Every change, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        items = await info.context["loaders"].history.load(str(self.id))
        return [HistoryEntry.from_model(i) for i in items]

    @classmethod
    def from_model(cls, m: LeadModel) -> Lead:
        consent = None
        if m.consent is not None:
            consent = Consent(purposes=list(m.consent.purposes or []), text_version=m.consent.text_version,
                              given_at=m.consent.given_at)
        reasons = [QualityReason(code=r.get("code", ""), field=r.get("field"), message=r.get("message", ""))
                   for r in (m.quality_reasons or [])]
        return cls(
            id=strawberry.ID(m.lead_id), stage=Stage(m.stage), quality=Quality(m.quality),
            version=int(m.version), first_name=m.first_name, last_name=m.last_name, email=m.email,
            phone=m.phone, company=m.company, job_title=m.job_title, street=m.street,
            postal_code=m.postal_code, city=m.city, country=m.country, interests=list(m.interests or []),
            message=m.message, source=m.source, campaign=m.campaign, form_id=m.form_id,
            owner_id=m.owner_id, consent=consent, quality_reasons=reasons, created_at=m.created_at,
            updated_at=m.updated_at, stage_entered_at=m.stage_entered_at,
        )


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
    def from_model(cls, m: ConfigModel, active_version: int | None) -> ConfigVersion:
        return cls(name=m.name, version=int(m.version), active=int(m.version) == active_version,
                   author=m.author, created_at=m.created_at, comment=m.comment, document=m.document)


@strawberry.type(description="Who is calling.")
class Viewer:
    user_id: str
    role: str
