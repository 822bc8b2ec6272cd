"""Nurturing: consent and double opt-in, journeys run by the sweep, mails through SES
with tracked links, tasks for people, and the stop rules applied at once.

The rules live in leadflow.domain (consent, journeys, mail, tracking); this
module reads and writes their state and talks to SES.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from leadflow.adapters import clock, mailer
from leadflow.adapters import keys as link_keys
from leadflow.domain import followups
from leadflow.domain.access import MARKETING_TASK_QUEUE, Principal
from leadflow.domain.consent import (
    ConsentLedger,
    ConsentRecord,
    ConsentStatus,
    Purpose,
    TokenError,
    UnknownConsentText,
    confirm,
    doi_token,
    mark_doi_sent,
    nonce_marker,
    record_consents,
    sign_token,
    verify_token,
)
from leadflow.domain.errors import ConcurrentUpdate, IllegalTransition
from leadflow.domain.journey_config import Channel, JourneyBook
from leadflow.domain.journeys import (
    LeadFacts,
    LeadState,
    Send,
    StepRun,
    decide_next,
    run_key,
    select_journey,
)
from leadflow.services import erasure
from leadflow.services.rulesets import active_rules
from leadflow.settings import get_settings
from leadflow.store import leads as repo
from leadflow.store import nurture as store

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

log = logging.getLogger(__name__)

TASK_ASSIGNEE = MARKETING_TASK_QUEUE  # phone and postal steps go to the marketing team's task list
MAX_STEPS_PER_RUN = 10  # skips can chain; a bound keeps one sweep invocation short
GERMAN = {"DE", "AT", "CH", "LI", "LU"}


# ----------------------------------------------------------------- helpers

def _secret() -> bytes:
    """The key that signs new links (leadflow.adapters.keys: rotated without breaking old links)."""
    return link_keys.keys().signing_key


def _verify_keys() -> tuple[bytes, ...]:
    """Every key a link may have been signed with: the current one and the previous one."""
    return link_keys.keys().link_keys


def _link(token: str, purpose: str, now: datetime) -> dict[str, Any]:
    """A mail link's payload: TokenError if it is not one of ours (or expired), erasure.Erased if
    its person was erased (the link then changes nothing and records nothing)."""
    payload = verify_token(token, _verify_keys(), now, purpose=purpose)
    erasure.check_not_erased(payload["lead_id"])
    return payload


def _url(path: str, **query: str) -> str:
    base = get_settings().public_base_url
    return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")


def language_of(lead: LeadModel) -> str:
    return lead.language or ("de" if (lead.country or "DE").upper() in GERMAN else "en")


def _book() -> JourneyBook:
    return active_rules("journeys")


def _ledger(lead_id: str) -> tuple[ConsentLedger, list[dict], int | None]:
    records, version = store.ledger(lead_id)
    return ConsentLedger(tuple(ConsentRecord.from_dict(r) for r in records)), records, version


def _lead_dict(lead: LeadModel) -> dict[str, Any]:
    return {"first_name": lead.first_name, "last_name": lead.last_name, "company": lead.company,
            "job_title": lead.job_title, "phone": lead.phone, "street": lead.street,
            "postal_code": lead.postal_code, "city": lead.city, "country": lead.country,
            "existing_customer": bool(lead.existing_customer)}


def facts_of(lead: LeadModel) -> LeadFacts:
    enrichment = lead.enrichment or {}
    segments = tuple(s for s in (lead.grade, enrichment.get("decision_level"),
                                 "key_account" if lead.key_account else None) if s)
    return LeadFacts.from_lead(
        {"lead_id": lead.lead_id, "interests": list(lead.interest_areas or []), "country": lead.country,
         "postal_code": lead.postal_code, "email": lead.email, "phone": lead.phone, "street": lead.street,
         "city": lead.city, "preferred_channel": lead.preferred_channel},
        age_group=lead.age_group, segments=segments, existing_customer=bool(lead.existing_customer),
        region=enrichment.get("region"), macro_region=enrichment.get("macro_region"), language=language_of(lead))


def runs_of(state: dict[str, Any]) -> tuple[StepRun, ...]:
    """The steps a lead's journey state records (sent, handed to people, skipped)."""
    at = clock.from_iso
    return tuple(StepRun(step_id=r["step_id"], at=at(r["at"]), outcome=r["outcome"],
                         channel=Channel(r["channel"]) if r.get("channel") else None,
                         opened_at=at(r.get("opened_at")), clicked_at=at(r.get("clicked_at")), why=r.get("why"))
                 for r in state.get("runs", []))


def _lead_state(lead: LeadModel, state: dict[str, Any], ledger: ConsentLedger, now: datetime) -> LeadState:
    return LeadState(
        facts=facts_of(lead), stage=lead.stage, consent=ledger.snapshot(now), journey_id=state.get("journey_id"),
        entered_at=clock.from_iso(state.get("entered_at")), runs=runs_of(state),
        sends=tuple(Send(datetime.fromisoformat(s["at"]), Channel(s["channel"])) for s in state.get("sends", [])),
        unsubscribed_at=clock.from_iso(state.get("unsubscribed_at")),
        email_status=state.get("email_status", "ok"), quality=lead.quality)


# ----------------------------------------------------------------- consent, DOI, enrolment

def start(lead: LeadModel) -> None:
    """After qualification: record the form's consents, send the DOI mail, enter a journey.
    Safe to run twice (a second run finds the ledger and the journey state)."""
    if lead.quality == "implausible":
        return  # never mail addresses a bot typed in
    now = clock.now()
    ledger, _, version = _ledger(lead.lead_id)
    if version is None:
        ledger = _record_form_consents(lead, now)
    state, state_version = store.journey_state(lead.lead_id)
    if state_version is None and lead.key_account and not lead.key_account_marketing:
        # seed 001: key accounts are never approached by marketing without their owner
        store.save_journey_state(lead.lead_id, {"journey_id": None, "runs": [], "sends": [],
                                                "stopped": "key_account: the account owner has not allowed nurturing"},
                                 None, None)
        return
    if state_version is None:
        journey = select_journey(facts_of(lead), _book())
        waiting_for_doi = ledger.snapshot(now).is_pending(Purpose.EMAIL_MARKETING)
        state = {"journey_id": journey.id if journey else None, "runs": [], "sends": [],
                 "entered_at": None if waiting_for_doi else now.isoformat()}
        store.save_journey_state(lead.lead_id, state, None if waiting_for_doi or not journey else now, None)


def _record_form_consents(lead: LeadModel, now: datetime) -> ConsentLedger:
    consent = lead.consent
    purposes = list(consent.purposes or []) if consent else []
    records: list[ConsentRecord] = []
    if purposes:
        try:
            records = record_consents(lead.lead_id, purposes, text_version=consent.text_version,
                                      texts=active_rules("consent_texts"), language=language_of(lead),
                                      form_id=lead.form_id, now=consent.given_at or now,
                                      doi_expiry_days=_book().settings.doi_expiry_days)
        except UnknownConsentText:
            # a consent whose text we cannot show later is no documented consent: no marketing
            log.warning("unknown consent text version", extra={"lead_id": lead.lead_id})
    records = [_send_doi(lead, r, now) if r.status is ConsentStatus.PENDING and r.purpose is Purpose.EMAIL_MARKETING
               else r for r in records]
    store.save_ledger(lead.lead_id, [r.to_dict() for r in records], None)
    return ConsentLedger(tuple(records))


def _send_doi(lead: LeadModel, record: ConsentRecord, now: datetime) -> ConsentRecord:
    if not lead.email:
        return record
    from leadflow.domain.mail import render_email

    confirm_url = _url("/consent/confirm", token=doi_token(record, _secret(), now))
    mail = render_email("doi_confirmation", language_of(lead), {
        "lead": _lead_dict(lead), "confirm_url": confirm_url, "company": active_rules("company").context(),
        "doi_expiry_days": _book().settings.doi_expiry_days,
        "consent_text": active_rules("consent_texts").text(record.text_version, "email_marketing",
                                                            record.language).text})
    mailer.send_mail(to=lead.email, subject=mail.subject, html=mail.html, text=mail.text, headers=mail.headers)
    return mark_doi_sent(record, now)


def _doi_record(token: str, now: datetime) -> tuple[dict[str, Any], ConsentRecord | None, int | None]:
    """The DOI link's payload and the consent record it confirms (None: no longer in the ledger)."""
    payload = _link(token, "doi", now)
    ledger, _, version = _ledger(payload["lead_id"])
    record = next((r for r in ledger.records if r.record_id == payload.get("record_id")), None)
    return payload, record, version


def _doi_state(record: ConsentRecord | None, now: datetime) -> str:
    if record is None:
        return "gone"
    if record.status is ConsentStatus.WITHDRAWN:
        return "withdrawn"
    if record.status is ConsentStatus.CONFIRMED:
        return "confirmed"
    return "expired" if record.is_expired_at(now) else "pending"


def doi_state(token: str) -> tuple[str, str | None]:
    """What the DOI link would do now, changing nothing (GET: a page with a button):
    (pending | confirmed | withdrawn | expired | gone, the language of the consent). A bad token
    raises a TokenError, the link of an erased person erasure.Erased."""
    now = clock.now()
    _, record, _ = _doi_record(token, now)
    return _doi_state(record, now), record.language if record else None


def confirm_consent(token: str, evidence: dict[str, str] | None = None) -> tuple[str, str | None]:
    """The DOI button (POST): pending -> confirmed, single use, until the record expires.
    Returns (confirmed | already_confirmed | withdrawn | expired | gone, language). A withdrawn or
    expired consent is told on every click: its state is read before the link's nonce is used.
    The nonce, the confirmed ledger and the journey's start are one transaction: "confirmed" is
    said only when all three are stored, and a failed click leaves the link usable.
    ConcurrentUpdate when other writers kept getting there first (the person clicks again)."""
    now = clock.now()
    payload, record, _ = _doi_record(token, now)
    state = _doi_state(record, now)
    if state != "pending":
        return ("already_confirmed" if state == "confirmed" else state), record.language if record else None
    lead_id, language = payload["lead_id"], record.language
    nonce: tuple[str, int] | None = nonce_marker(payload)
    for attempt in range(CONFLICT_ATTEMPTS):
        ledger, _, version = _ledger(lead_id)
        record = next((r for r in ledger.records if r.record_id == payload["record_id"]), None)
        state = _doi_state(record, now)  # a withdrawal at the same moment wins: it is read again
        if state != "pending":
            return ("already_confirmed" if state == "confirmed" else state), language
        updated = [confirm(r, now, evidence=evidence).to_dict() if r is record else r.to_dict()
                   for r in ledger.records]
        journey, journey_version = store.journey_state(lead_id)
        starts = journey is not None and not journey.get("entered_at")  # the welcome journey starts now
        if starts:
            journey = {**journey, "entered_at": now.isoformat()}
        try:
            store.commit_consent(lead_id, records=updated, ledger_version=version,
                                 state=journey if starts else None,
                                 due_at=now if starts and journey.get("journey_id") else None,
                                 state_version=journey_version, nonce=nonce, at=now,
                                 follow_ups=followups.event("ConsentConfirmed", leadId=lead_id,
                                                            purpose="email_marketing"),
                                 change=f"consent#{record.record_id}#confirmed")
            break
        except store.NonceUsed:
            # Spent with a committed confirmation (read again: "already confirmed"), or spent by the
            # old code path that used the nonce before a ledger write that then failed: the record
            # is still pending and this very link confirms it now.
            nonce = None
        except ConcurrentUpdate:
            _pause(attempt)
    else:
        raise ConcurrentUpdate("the consent changed meanwhile; please click again", field="token")
    _note(lead_id, "consent", "email marketing confirmed (double opt-in)")
    return "confirmed", language


def lead_language(lead_id: str) -> str | None:
    lead = repo.find_lead(lead_id)
    return language_of(lead) if lead is not None else None


def unsubscribe_lead(token: str) -> str:
    """Checks an unsubscribe link without using it (GET: a page with a button). Returns the lead id."""
    return _link(token, "unsubscribe", clock.now())["lead_id"]


def link_page(kind: str, language: str | None, token: str = "") -> str:
    """The HTML page a mail link opens (leadflow/templates/pages), in the person's language."""
    from leadflow.domain.mail import render_page

    return render_page(kind, language or _book().settings.default_language,
                       {"company": active_rules("company").context(), "token": token})[0]


def unsubscribe_url(lead_id: str, ttl_days: int) -> str:
    token = sign_token({"purpose": "unsubscribe", "lead_id": lead_id}, _secret(), timedelta(days=ttl_days))
    return _url("/unsubscribe", token=token)


def unsubscribe(token: str, *, via: str) -> str:
    """Withdraw every marketing consent and stop the journey now. Idempotent. Returns the lead id."""
    now = clock.now()
    payload = _link(token, "unsubscribe", now)
    withdraw_all(payload["lead_id"], via=via, now=now)
    return payload["lead_id"]


def withdraw_all(lead_id: str, *, via: str, now: datetime | None = None) -> None:
    """Withdraw every marketing consent and stop the journey, in one transaction: stored entirely
    or not at all. Concurrent writers (a sweep, a click) make it read again; ConcurrentUpdate if
    they kept winning, so the caller never says "unsubscribed" for a withdrawal it did not store."""
    if erasure.is_erased(lead_id):  # nothing to withdraw, and no journey state to start for it
        return
    now = now or clock.now()
    for attempt in range(CONFLICT_ATTEMPTS):
        ledger, _, version = _ledger(lead_id)
        records = None if version is None else [r.to_dict() for r in ledger.withdraw_all(now, via=via).records]
        state, state_version = store.journey_state(lead_id)
        state = dict(state) if state is not None else {"journey_id": None, "runs": [], "sends": []}
        state.setdefault("unsubscribed_at", now.isoformat())
        try:  # due None: out of the due index, no step runs again
            store.commit_consent(lead_id, records=records, ledger_version=version, state=state, due_at=None,
                                 state_version=state_version, at=now,
                                 follow_ups=followups.event("ConsentWithdrawn", leadId=lead_id, via=via),
                                 change=f"consent#withdrawn#{now.isoformat()}")
            break
        except ConcurrentUpdate:
            _pause(attempt)
    else:
        raise ConcurrentUpdate("the withdrawal could not be stored (the consent kept changing); please try again",
                               field="token")
    _note(lead_id, "consent", f"marketing consent withdrawn ({via})")


def mark_address(lead_id: str, status: str) -> None:
    """SES said the address bounced or the person complained: no more mail to it."""
    if erasure.is_erased(lead_id):
        return
    if status == "complained":
        withdraw_all(lead_id, via="complaint")

    def marked(state: dict[str, Any]) -> None:
        state["email_status"] = status
        return None

    _change_state(lead_id, marked, create=True)


NO_CHANGE = object()
CONFLICT_ATTEMPTS = 10  # read-change-write rounds before a consent change gives up (and says so)


def _pause(attempt: int) -> None:
    """A short random pause before the next round: concurrent writers fall out of step."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** attempt)))


def _change_state(lead_id: str, change: Callable[[dict[str, Any]], Any], *, create: bool) -> None:
    """Read, change and write a lead's journey state, again when a concurrent writer got there
    first. `change` edits the state and returns when the next step is due (None: out of the due
    index), or NO_CHANGE to write nothing. Without a state: start an empty one (`create`) or do
    nothing. ConcurrentUpdate when writers kept winning: the caller's message is delivered again."""
    for attempt in range(CONFLICT_ATTEMPTS):
        state, version = store.journey_state(lead_id)
        if state is None:
            if not create:
                return
            state = {"journey_id": None, "runs": [], "sends": []}
        due = change(state)
        if due is NO_CHANGE:
            return
        try:
            store.save_journey_state(lead_id, state, due, version)
            return
        except ConcurrentUpdate:
            _pause(attempt)
    raise ConcurrentUpdate(f"the journey state of lead {lead_id} kept changing; retry", field="lead_id")


def _note(lead_id: str, kind: str, reason: str) -> None:
    from leadflow.services import lifecycle

    lead = erasure.live_lead(lead_id)
    if lead is not None:
        try:
            lifecycle.record(lead, kind=kind, actor="system:nurture", reason=reason)
        except ConcurrentUpdate:
            log.info("history note skipped after a concurrent change", extra={"lead_id": lead_id})


# ----------------------------------------------------------------- the sweep and its workers

SWEEP_PAGE = 500  # lead ids read per page of a due-index shard
SWEEP_SENDERS = 8  # SendMessageBatch calls in flight: 50,000 ids are 5,000 calls
SEND_LEASE = timedelta(minutes=5)  # > the worker's timeout: after it, the worker that meant to send is gone
MAX_REFUSALS = 5  # SES refused a step's mail this often (not throttling): recorded as failed, not tried again
THROTTLE_BACKOFF_CAP = timedelta(minutes=15)
REFUSAL_BACKOFF_CAP = timedelta(hours=1)


def enqueue_due(now: datetime | None = None, deadline: float | None = None) -> dict[str, int]:
    """The scheduled sweep: find the leads whose next step is due (every shard of the due index,
    page by page) and hand their ids to the nurture queue, where per-lead workers run them in
    parallel (`run_queued`). `deadline` (time.monotonic()) stops reading new pages: what is left
    is still due and the next sweep finds it. A lead queued twice runs once (run_lead)."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    from leadflow.adapters import queues

    now = now or clock.now()
    due = enqueued = 0
    stopped = False
    queues.warm()  # one client, made before the threads share it
    with ThreadPoolExecutor(max_workers=SWEEP_SENDERS) as pool:
        sends = []
        for page in store.due_lead_pages(now, SWEEP_PAGE):
            due += len(page)
            # each send in a copy of this context: what the invocation set up (logging, tracing) goes along
            sends.append(pool.submit(contextvars.copy_context().run, queues.enqueue_nurture, page))
            if deadline is not None and time.monotonic() >= deadline:
                stopped = True
                break
        enqueued = sum(send.result() for send in sends)
    summary = {"due": due, "enqueued": enqueued}
    if enqueued < due:
        summary["notEnqueued"] = due - enqueued  # still due: the next sweep finds them again
    if stopped:
        summary["stoppedAtDeadline"] = 1
    return summary


def run_queued(lead_id: str) -> list[str]:
    """The per-lead worker's use case (one message of the nurture queue). A concurrent worker on
    the same lead (a duplicate message) makes this one read the lead again; ConcurrentUpdate only
    if that keeps happening (the message comes back)."""
    for attempt in range(3):
        try:
            return run_lead(lead_id, clock.now())
        except ConcurrentUpdate:
            if attempt == 2:
                raise
            _pause(attempt)
    return []  # pragma: no cover


def run_lead(lead_id: str, now: datetime) -> list[str]:
    """Run what is due for one lead: skipped steps chain, a sent step ends the run (the next
    one is at least its delay away). Every write is conditional on the state's version, so a
    concurrent worker loses cleanly (ConcurrentUpdate).

    A mail step is: record the intent (`sending`, with a lease) -> SES -> record the outcome.
    SES refused it: nothing was sent, the step is due again later (`retry`). No answer from SES,
    or the worker stopped between intent and outcome (the lease ended): the step is recorded as
    `unknown` and not sent again (at most once per step, docs/nurturing.md)."""
    actions: list[str] = []
    state, version = store.journey_state(lead_id)
    if state is None:
        return actions
    lead = repo.find_lead(lead_id)
    if lead is None:  # erased
        store.save_journey_state(lead_id, {**state, "stopped": "erased"}, None, version)
        return ["stop"]
    sending = state.get("sending")
    if sending:
        if clock.from_iso(sending["until"]) > now:
            return ["busy"]  # another worker is sending it; the lease's end is its due time
        state = {k: v for k, v in state.items() if k != "sending"}
        _record_mail(state, sending, "unknown", why="no outcome recorded: the worker stopped after the intent")
        log.warning("mail outcome unknown, not sent again", extra={"lead_id": lead_id, "step": sending["step_id"]})
        store.save_journey_state(lead_id, state, now, version)
        version = _next(version)
        actions.append("unknown")
    retry = state.get("retry")
    if retry and clock.from_iso(retry["not_before"]) > now:
        return [*actions, "wait"]  # SES refused it a moment ago; the due index holds the retry time
    ledger, _, _ = _ledger(lead_id)
    book = _book()
    for _ in range(MAX_STEPS_PER_RUN):
        decision = decide_next(book, _lead_state(lead, state, ledger, now), now)
        actions.append(decision.action)
        if decision.action in ("stop", "done"):
            store.save_journey_state(lead_id, {**state, "stopped": decision.reason}, None, version)
            return actions
        if decision.action == "wait":
            retry_at = decision.not_before or (None if decision.reason == "doi_pending" else now + timedelta(minutes=1))
            store.save_journey_state(lead_id, state, retry_at, version)
            return actions
        if decision.action == "email":
            settled = _send_email(lead, ledger, decision, book, state, version, now)
            if settled is None:
                return actions
            state, version, outcome = settled
            if outcome != "sent":
                actions[-1] = outcome
            if outcome == "retry":
                return actions
            continue
        step = decision.step
        run: dict[str, Any] = {"step_id": step.id, "at": now.isoformat()}
        if decision.action == "skip":
            run.update(outcome="skipped", why=decision.reason)
        else:
            run.update(outcome="task", channel=decision.channel.value, task_id=_create_task(lead, decision, now))
            state.setdefault("sends", []).append({"at": now.isoformat(), "channel": decision.channel.value})
        state.setdefault("runs", []).append(run)
        store.save_journey_state(lead_id, state, now, version)
        version = _next(version)
    return actions


def _next(version: int | None) -> int:
    """What a conditional write at `version` made it."""
    return 1 if version is None else version + 1


def _send_email(lead: LeadModel, ledger: ConsentLedger, decision, book: JourneyBook, state: dict[str, Any],
                version: int | None, now: datetime) -> tuple[dict[str, Any], int, str] | None:
    """Intent -> SES -> outcome. Returns the state as recorded, its version and the outcome
    (sent | retry | failed | unknown); None if another worker settled it meanwhile."""
    mail = _render_step(lead, ledger, decision, book, now)  # first: a template error leaves nothing pending
    intent = {"step_id": decision.step.id, "journey_id": decision.journey_id, "at": now.isoformat(),
              "until": (now + SEND_LEASE).isoformat()}
    # the claim: of two workers on the same lead only one writes this (the other: ConcurrentUpdate)
    claimed = {**state, "sending": intent}
    store.save_journey_state(lead.lead_id, claimed, now + SEND_LEASE, version)
    known = (claimed, _next(version))  # what the outcome is written on, unless it changed meanwhile
    try:
        message_id = mailer.send_mail(to=lead.email, subject=mail.subject, html=mail.html, text=mail.text,
                                      headers=mail.headers, once=True)
    except mailer.MailRefused as exc:
        refused = exc
        log.warning("SES refused a journey mail", extra={"lead_id": lead.lead_id, "step": decision.step.id,
                                                          "code": refused.code})
        return _settle(lead.lead_id, intent, lambda s: _refused(s, intent, refused, now), known)
    except mailer.MailOutcomeUnknown as exc:
        why = f"no answer from SES ({exc})"
        log.warning("mail outcome unknown, not sent again", extra={"lead_id": lead.lead_id,
                                                                    "step": decision.step.id, "why": why})
        return _settle(lead.lead_id, intent, lambda s: (_record_mail(s, intent, "unknown", why=why), now), known)
    return _settle(lead.lead_id, intent, lambda s: (_record_mail(s, intent, "sent", message_id=message_id), now),
                   known)


def _settle(lead_id: str, intent: dict[str, Any], change: Callable[[dict[str, Any]], tuple[str, datetime | None]],
            known: tuple[dict[str, Any], int]) -> tuple[dict[str, Any], int, str] | None:
    """Record a send's outcome on the state as written with the intent (`known`), or, if a click
    or an unsubscribe changed it since, as it is now. None if the intent is no longer there."""
    for attempt in range(CONFLICT_ATTEMPTS):
        state, version = known if attempt == 0 else store.journey_state(lead_id)
        if state is None or state.get("sending") != intent:
            log.warning("mail intent settled by another worker", extra={"lead_id": lead_id})
            return None
        state = {k: v for k, v in state.items() if k != "sending"}
        outcome, due = change(state)
        if state.get("stopped") or state.get("unsubscribed_at"):
            due = None  # stopped meanwhile: stays out of the due index
        try:
            store.save_journey_state(lead_id, state, due, version)
            return state, _next(version), outcome
        except ConcurrentUpdate:
            _pause(attempt)
    raise ConcurrentUpdate(f"the outcome of a mail to lead {lead_id} could not be recorded; retry", field="lead_id")


def _record_mail(state: dict[str, Any], intent: dict[str, Any], outcome: str, **extra: Any) -> str:
    """The step as run. `sent` and `unknown` count for the frequency caps (it may have gone out)."""
    state.setdefault("runs", []).append({"step_id": intent["step_id"], "at": intent["at"], "outcome": outcome,
                                         "channel": "email", **extra})
    if outcome in ("sent", "unknown"):
        state.setdefault("sends", []).append({"at": intent["at"], "channel": "email"})
    state.pop("retry", None)
    return outcome


def _refused(state: dict[str, Any], intent: dict[str, Any], refused: mailer.MailRefused,
             now: datetime) -> tuple[str, datetime]:
    """SES said no: nothing went out. Throttling is tried again for as long as it lasts (with a
    growing pause); any other refusal MAX_REFUSALS times, then the step is recorded as failed."""
    previous = state.get("retry") or {}
    if previous.get("step_id") != intent["step_id"]:
        previous = {}
    throttles = int(previous.get("throttles", 0)) + (1 if refused.throttled else 0)
    refusals = int(previous.get("refusals", 0)) + (0 if refused.throttled else 1)
    if refusals >= MAX_REFUSALS:
        outcome = _record_mail(state, intent, "failed", why=f"SES refused it {refusals} times ({refused.code})")
        return outcome, now
    if refused.throttled:
        pause = min(timedelta(minutes=1) * 2 ** (throttles - 1), THROTTLE_BACKOFF_CAP)
        pause += timedelta(seconds=random.uniform(0, 30))  # throttled leads come back spread out
    else:
        pause = min(timedelta(minutes=1) * 4 ** (refusals - 1), REFUSAL_BACKOFF_CAP)
    state["retry"] = {"step_id": intent["step_id"], "throttles": throttles, "refusals": refusals,
                      "error": refused.code, "not_before": (now + pause).isoformat()}
    return "retry", now + pause


def _render_step(lead: LeadModel, ledger: ConsentLedger, decision, book: JourneyBook, now: datetime):
    from dataclasses import replace

    from leadflow.domain.mail import content_title, render_email
    from leadflow.domain.tracking import add_open_pixel, rewrite_links

    language = language_of(lead)
    ttl = book.settings.token_ttl_days
    content = decision.content
    context = {"lead": _lead_dict(lead), "company": active_rules("company").context(),
               "unsubscribe_url": unsubscribe_url(lead.lead_id, ttl.get("unsubscribe", 400)),
               "events": list(content.events), "content_key": content.content_key,
               "interest_label": _interest_label(content.interest, language)}
    context["content_title"] = content_title(content.content_key, language, context)
    mail = render_email(content.content_key, language, context)
    click_ttl = timedelta(days=ttl.get("click", 180))

    def click_url(target: str) -> str:
        token = sign_token({"purpose": "click", "lead_id": lead.lead_id, "step": decision.step.id,
                            "h": _url_hash(target)}, _secret(), click_ttl)
        return _url(f"/t/c/{token}", u=target)

    html = rewrite_links(mail.html, click_url)
    # A pixel is covert tracking: only with the `tracking` consent (TTDSG §25). A click is the
    # person's own answer to our mail and is recorded with the link.
    if not book.settings.tracking.require_consent or ledger.allows(Purpose.TRACKING, now):
        open_token = sign_token({"purpose": "open", "lead_id": lead.lead_id, "step": decision.step.id},
                                _secret(), timedelta(days=ttl.get("open", 180)))
        html = add_open_pixel(html, _url(f"/t/o/{open_token}"))
    return replace(mail, html=html)


def _interest_label(interest: str | None, language: str) -> str | None:
    if not interest:
        return None
    area = active_rules("interests").areas.get(interest)
    return area.label.get(language) if area else interest


def _url_hash(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:20]


def _create_task(lead: LeadModel, decision, now: datetime) -> str:
    from leadflow.domain.mail import render_task

    kind = "phone_call" if decision.channel is Channel.PHONE else "postal_letter"
    task = render_task(kind, language_of(lead), {
        "lead": _lead_dict(lead), "company": active_rules("company").context(),
        "content_key": decision.content.content_key, "reason": decision.reason or "",
        "content_title": decision.content.content_key, "due": now.date().isoformat(),
        "lead_url": _url(f"/leads/{lead.lead_id}")})
    # the id comes from (lead, journey, step): a repeated run finds the task instead of adding another
    task_id = hashlib.sha256(run_key(lead.lead_id, decision.journey_id, decision.step.id).encode()).hexdigest()[:32]
    store.put_task(task_id, TASK_ASSIGNEE, now, {
        "lead_id": lead.lead_id, "kind": kind, "title": task.title, "body": task.body, "status": "open",
        "journey_id": decision.journey_id, "step_id": decision.step.id, "created_at": now.isoformat()},
        follow_ups=followups.event("TaskCreated", taskId=task_id, leadId=lead.lead_id, kind=kind))
    return task_id


# ----------------------------------------------------------------- tracking

def click_target(token: str, target: str) -> tuple[str | None, str | None, str]:
    """Where a tracked link goes: (location, lead id, step id). The click counts (a lead id) only
    when the target is allowed and is the one the token was made for. Anything refused (target
    not on the allow list or not this link's, token invalid or expired) goes uncounted to
    `tracking.fallback_url`, our own page; without one the location is None (the caller says 403).
    The link of an erased person still goes to its target, uncounted (no lead id)."""
    from leadflow.domain.tracking import click_redirect

    tracking = _book().settings.tracking
    try:
        payload = verify_token(token, _verify_keys(), clock.now(), purpose="click")
    except TokenError:
        payload = {}
    mine = bool(payload) and payload.get("h") == _url_hash(target)
    location = click_redirect({"url": target} if mine else {}, tracking.allowed_domains, tracking.fallback_url,
                              allow_http=tracking.allow_http)
    if mine and location == target:
        if erasure.is_erased(payload["lead_id"]):
            return target, None, ""
        return target, payload["lead_id"], payload.get("step", "")
    return location, None, ""  # the fallback page, if it is a usable Location (domain.tracking.safe_location)


def open_token(token: str) -> tuple[str, str]:
    """(lead id, step) of an open pixel; TokenError or erasure.Erased when it must not count."""
    payload = _link(token, "open", clock.now())
    return payload["lead_id"], payload.get("step", "")


def mark_mail_engagement(lead_id: str, step_id: str, kind: str, at: datetime) -> None:
    """An open or click on a journey mail: conditions like 'last mail not opened' read it."""
    field = "opened_at" if kind == "email_open" else "clicked_at"

    def engaged(state: dict[str, Any]) -> Any:
        run = next((r for r in state.get("runs", []) if r.get("step_id") == step_id), None)
        if run is None or run.get(field):
            return NO_CHANGE
        run[field] = at.isoformat()
        if field == "clicked_at" and not run.get("opened_at"):
            run["opened_at"] = at.isoformat()  # a click proves the mail was opened
        return None if state.get("stopped") or state.get("unsubscribed_at") else at

    _change_state(lead_id, engaged, create=False)


# ----------------------------------------------------------------- tasks

def tasks(principal: Principal, assignee: str, status: str, limit: int = 50) -> list[dict[str, Any]]:
    """Tasks of an assignee's list that the caller may see (services.leads.may_see_task): marketing
    and admins the whole list; a rep or manager those of leads they may see, or assigned to them."""
    from leadflow.services.leads import MAX_EXAMINED, may_see_task

    if may_see_task(principal, assignee, None):
        return [_task_dict(item) for item in store.tasks_of(assignee, status, limit)]
    shown: list[dict[str, Any]] = []
    chunk: list = []
    pages = store.task_pages(assignee, status, page_size=limit)
    for examined, item in enumerate(pages, start=1):
        chunk.append(item)
        if len(chunk) < limit and examined < MAX_EXAMINED:
            continue
        shown += _visible_tasks(principal, chunk)
        chunk = []
        if len(shown) >= limit or examined >= MAX_EXAMINED:
            break
    shown += _visible_tasks(principal, chunk)
    return shown[:limit]


def _visible_tasks(principal: Principal, items: list) -> list[dict[str, Any]]:
    from leadflow.services.leads import may_see_task

    lead_ids = [(i.data or {}).get("lead_id") for i in items]
    leads = repo.find_leads({i for i in lead_ids if i})
    return [_task_dict(i) for i, lead_id in zip(items, lead_ids, strict=True)
            if may_see_task(principal, i.assignee, leads.get(lead_id))]


def _task_dict(item) -> dict[str, Any]:
    return {"id": item.pk.removeprefix("task#"), "assignee": item.assignee, **(item.data or {})}


def complete_task(principal: Principal, task_id: str, outcome: str) -> dict[str, Any]:
    """A task the caller may not see answers like an unknown one (its body names the person)."""
    from leadflow.domain.errors import InvalidInput, NotFound
    from leadflow.services import activities
    from leadflow.services.leads import may_see_task
    from leadflow.store import activities as activity_store

    item = store.get_task(task_id)
    data = dict(item.data or {})
    if not may_see_task(principal, item.assignee, repo.find_lead(data["lead_id"]) if data.get("lead_id") else None):
        raise NotFound(f"no such task: {task_id}", field="id")
    if data.get("status") == "done":
        raise IllegalTransition(f"task {task_id} is done already", field="id")
    if not (outcome or "").strip():
        raise InvalidInput("outcome must not be empty: what came of it", field="outcome")
    now = clock.now()
    data.update(status="done", outcome=outcome.strip(), completed_by=principal.user_id, completed_at=now.isoformat())
    # the lead's timeline records it (who, when, what came of it) in the task's own transaction
    activity = (activities.task_done_activity(task_id, data, principal.user_id, now)
                if data.get("lead_id") and not erasure.is_erased(data["lead_id"]) else None)
    activity_store.complete_task(item, data, activity)
    if data.get("source") != "sales":  # a journey's task: its stage history says so too, as before
        _note(data["lead_id"], "task", f"{data.get('kind')}: {outcome}")
    return {"id": task_id, "assignee": item.assignee, **data}


