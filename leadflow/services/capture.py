"""Capture a form submission: store the lead once, answer fast, qualify later."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.adapters import clock
from leadflow.adapters.keys import hash_key
from leadflow.domain.controlling import counter_updates, with_dimensions
from leadflow.domain.errors import Conflict
from leadflow.domain.followups import counted, work
from leadflow.domain.lifecycle import Stage, Transition
from leadflow.domain.submission import LeadSubmission, email_marker
from leadflow.services.lifecycle import dimensions_of, stage_sort
from leadflow.settings import get_settings
from leadflow.store import intake
from leadflow.store import leads as repo
from leadflow.store.models import ConsentAttribute, HistoryModel, LeadModel, MarkerModel

# A resubmitted form (double click, browser retry) is recognised for a day.
FORM_MARKER_TTL_S = 24 * 3600
IDEMPOTENCY_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class CaptureResult:
    lead_id: str
    created: bool


def capture_lead(submission: LeadSubmission) -> CaptureResult:
    """Store the lead (stage LEAD, quality pending) with its qualification as a follow-up of the
    same transaction (the relay hands it to the intake queue; nothing is sent from here).

    The same idempotency key, the same form submission or the same email address
    never create a second lead: the existing lead's id is returned. The same
    idempotency key with a different body is a Conflict."""
    now = clock.now()
    lead_id = clock.new_id()
    digest = submission.digest()  # the same submission sent again has the same digest
    markers = _markers(submission, lead_id, digest, int(now.timestamp()))
    lead = _lead_from(submission, lead_id, now)
    dims = dimensions_of(lead)
    history = HistoryModel(lead_id, 1, kind="stage", from_stage=None, to_stage=Stage.LEAD.value, at=now,
                           actor="system:capture", reason=f"form {submission.form_id or 'unknown'}",
                           details=with_dimensions({"form": submission.form_id}, dims))
    counters = counter_updates(Transition(lead_id, None, Stage.LEAD, now, "system:capture"),
                               dims, get_settings().company_timezone, captured_at=now)
    try:
        repo.create_lead(lead, history, markers, counted(counters) + work("intake", leadId=lead_id))
    except repo.MarkerTaken as taken:
        existing_id, marker = _existing_lead_for(taken.markers, digest)
        if marker.startswith("email#"):  # the same person with a new form: merge what is new
            _enqueue_merge(existing_id, submission, digest)
        return CaptureResult(existing_id, created=False)
    return CaptureResult(lead_id, created=True)


def _enqueue_merge(lead_id: str, submission: LeadSubmission, digest: str) -> None:
    """The form waits in DynamoDB, with the message that announces it in the same transaction;
    the message carries ids only (no personal data in SQS or its dead-letter queue for 14 days)."""
    update = submission.as_dict(exclude={"idempotency_key", "consent", "email"})
    submission_id = digest[:16]
    repo.save_pending("resub", lead_id, submission_id, update, clock.now(),
                      work("intake", leadId=lead_id, submissionId=submission_id))


def _markers(submission: LeadSubmission, lead_id: str, digest: str, now_s: int) -> list[MarkerModel]:
    markers = []
    if submission.idempotency_key:
        markers.append(MarkerModel(f"idem#{submission.idempotency_key}", lead_id=lead_id,
                                   body_hash=digest, expires_at=now_s + IDEMPOTENCY_TTL_S))
    markers.append(MarkerModel(f"form#{digest}", lead_id=lead_id,
                               expires_at=now_s + FORM_MARKER_TTL_S))
    marker = email_marker(submission.email, hash_key())
    if marker:
        markers.append(MarkerModel(marker, lead_id=lead_id))
    return markers


def _existing_lead_for(taken: list[str], body_hash: str) -> tuple[str, str]:
    for name in taken:
        marker = repo.get_marker(name)
        if marker is None:
            continue
        if name.startswith("idem#") and marker.body_hash != body_hash:
            raise Conflict("this idempotencyKey was already used for a different submission",
                           field="idempotencyKey")
        return marker.lead_id, name
    raise Conflict("the submission collided with a concurrent one; retry", field="body")


def _lead_from(s: LeadSubmission, lead_id: str, now) -> LeadModel:
    consent = None
    if s.consent is not None:
        consent = ConsentAttribute(purposes=s.consent.purposes, text_version=s.consent.text_version,
                                   given_at=now)
    return LeadModel(
        lead_id, version=1, stage=Stage.LEAD.value, stage_sort=stage_sort(now, lead_id),
        stage_entered_at=now, quality="pending", created_at=now, updated_at=now,
        first_name=s.first_name, last_name=s.last_name, email=s.email, phone=s.phone,
        company=s.company, job_title=s.job_title, street=s.street, postal_code=s.postal_code,
        city=s.city, country=s.country, message=s.message, interests=s.interests or None,
        source=s.source, campaign=s.campaign, form_id=s.form_id, consent=consent,
        intake_pending=intake.pending_key(lead_id), created_sort=f"{repo.at_iso(now)}#{lead_id}",
        stages_reached=[Stage.LEAD.value], visitor_id=s.visitor_id, language=s.language,
        preferred_channel=s.preferred_channel, age_group=s.age_group,
    )
