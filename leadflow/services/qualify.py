"""Qualify a captured lead (SQS intake consumer): plausibility, dedup and merge,
existing-customer flag, enrichment, interest areas. Safe to run twice.

Two steps, each started by its own message: `qualify_lead` judges the lead, files its dedup keys
and commits the verdict together with the message for the second step (`after_verdict`: the
disqualification of junk, consent ledger, DOI mail, journey, visitor history, rescore). Every
part of the second step records that it is done, so a redelivery continues where a failed
attempt stopped, and nothing is lost when a call fails after the verdict was committed."""

from __future__ import annotations

import logging
from typing import Any

from leadflow.adapters import clock
from leadflow.adapters.keys import hash_key
from leadflow.domain import dedup
from leadflow.domain.enrichment import enrich, interest_areas, with_areas
from leadflow.domain.errors import Conflict, NotFound
from leadflow.domain.followups import NONE, FollowUps, event, work
from leadflow.domain.lifecycle import REOPENABLE, Quality, Stage
from leadflow.domain.submission import email_marker
from leadflow.services import engagement, lifecycle, nurture
from leadflow.services.rescore import rescore, rescore_follow_up
from leadflow.services.rulesets import active_rules
from leadflow.store import directory, intake
from leadflow.store import leads as repo
from leadflow.store.lead_lists import review_queue_key
from leadflow.store.models import LeadModel, MarkerModel

log = logging.getLogger(__name__)

ACTOR = "system:qualify"
# Fields a later submission of the same person may fill in (never overwrite what the lead said).
MERGEABLE = ("first_name", "last_name", "phone", "company", "job_title", "street", "postal_code", "city",
             "country", "message", "source", "campaign")
CONTACT_FIELDS = ("first_name", "last_name", "phone", "company", "job_title", "street", "postal_code", "city",
                  "country")
MESSAGE_MAX = 5000  # as a form may send: a lead's requests, newest first, are kept up to this length
# Reverse link of a possible duplicate: "dupof#<older lead>" -> "lead#<lead in review>" (ids only).
DUPLICATE_LINK = "dupof#"


def submission_of(lead: LeadModel) -> dict[str, Any]:
    """The lead's contact data in the shape of the capture form (what the checks read)."""
    return {
        "firstName": lead.first_name, "lastName": lead.last_name, "email": lead.email, "phone": lead.phone,
        "company": lead.company, "jobTitle": lead.job_title, "street": lead.street,
        "postalCode": lead.postal_code, "city": lead.city, "country": lead.country,
        "interests": list(lead.interests or []), "message": lead.message, "source": lead.source,
        "campaign": lead.campaign, "formId": lead.form_id,
    }


def contact_keys(lead: LeadModel) -> dedup.ContactKeys:
    return dedup.keys_for(email=lead.email, phone=lead.phone, country=lead.country,
                          last_name=lead.last_name, company=lead.company, key=hash_key())


def record_contact_change(lead: LeadModel, *, actor: str, reason: str, set_fields: dict[str, Any],
                          details: dict[str, Any] | None = None, follow_ups: FollowUps = NONE) -> LeadModel:
    """Record corrected contact data; the dedup keys and the email marker move with it, so a later
    form with the corrected address finds this lead, and the old address no longer does."""
    take: list[MarkerModel] = []
    release: list[str] = []
    key = hash_key()
    old_marker, new_marker = email_marker(lead.email, key), email_marker(set_fields.get("email", lead.email), key)
    if new_marker != old_marker:
        holder = repo.get_marker(new_marker) if new_marker else None
        if holder is not None and holder.lead_id != lead.lead_id:
            raise _address_taken(holder.lead_id)
        if new_marker and holder is None:
            take.append(MarkerModel(new_marker, lead_id=lead.lead_id))
        held = repo.get_marker(old_marker) if old_marker else None
        if held is not None and held.lead_id == lead.lead_id:
            release.append(old_marker)
    before = set(contact_keys(lead).all())
    try:
        lead = lifecycle.record(lead, kind="review", actor=actor, reason=reason, set_fields=set_fields,
                                details=details, markers=take, released_markers=release, follow_ups=follow_ups)
    except repo.MarkerTaken:
        holder = repo.get_marker(new_marker)
        raise _address_taken(holder.lead_id if holder else "another lead") from None
    after = set(contact_keys(lead).all())
    if after - before:
        directory.add_refs(after - before, f"lead#{lead.lead_id}")
    if before - after:
        directory.remove_refs(before - after, f"lead#{lead.lead_id}")
    return lead


def _address_taken(other_id: str) -> Conflict:
    return Conflict(f"email: lead {other_id} already has this address; compare the two leads and reject "
                    "the one that is not needed", field="patch.email")


def qualify_lead(lead_id: str) -> str:
    """Judge a new lead once; returns its quality. A second delivery changes nothing."""
    lead = repo.find_lead(lead_id)
    if lead is None:
        log.info("lead gone before qualification", extra={"lead_id": lead_id})
        return "gone"
    if lead.intake_pending is None:
        return lead.quality

    from leadflow.domain.plausibility import check

    verdict = check(submission_of(lead), active_rules("plausibility"))
    reasons = [r.to_dict() for r in verdict.reasons]
    quality = verdict.verdict
    keys = contact_keys(lead)
    fields: dict[str, Any] = _enrichment_fields(lead)
    business = fields["enrichment"]["company_domain"]
    matches = _matches(lead, keys, business)
    fields.update(_customer_fields(matches))

    exact_duplicate = matches["duplicate"]
    if exact_duplicate and quality != Quality.IMPLAUSIBLE.value:
        return _merge_into(lead, exact_duplicate, fields, reasons)
    possible = matches["possible_duplicate"] if quality != Quality.IMPLAUSIBLE.value else None
    if possible:
        # not sure it is the same person (a shared switchboard, a namesake): a person decides
        quality = Quality.NEEDS_REVIEW.value
        by_phone = matches["possible_by"] == "phone"
        reasons.append({"code": "possible_duplicate", "field": "phone" if by_phone else "lastName",
                        "message": f"looks like lead {possible} "
                                   + ("(same phone number)" if by_phone else "(name and company)")})
    fields.update(quality=quality, quality_reasons=reasons, duplicate_of=possible, intake_pending=None)
    if quality == Quality.NEEDS_REVIEW.value:
        fields.update(review_queue=review_queue_key(lead.lead_id),
                      review_sort=repo.at_iso(lead.created_at) + "#" + lead.lead_id)
    # the dedup keys go in before the verdict (idempotent puts): a second form of the same person a
    # moment later finds this lead even while its second step is still on its way
    directory.add_refs(keys.all(), f"lead#{lead.lead_id}")
    if possible:
        directory.add_refs([DUPLICATE_LINK + possible], f"lead#{lead.lead_id}")
    follow_ups = (event("LeadQualified", leadId=lead.lead_id, quality=quality,
                        existingCustomer=bool(fields.get("existing_customer")),
                        keyAccount=bool(fields.get("key_account")))  # its manager is told (notifications)
                  + work("intake", leadId=lead.lead_id, step=AFTER_VERDICT))
    lifecycle.record(lead, kind="quality", actor=ACTOR, reason=quality, set_fields=fields,
                     details={"reasons": [r["code"] for r in reasons]}, follow_ups=follow_ups)
    return quality


AFTER_VERDICT = "after_verdict"


def after_verdict(lead_id: str) -> str:
    """The second step of qualification, from the committed verdict. Each part is done once and
    recorded (a junk lead's disqualification is its stage; the ledger, the
    DOI mail and the journey are in the nurture state; attached visitor events are keyed by their
    ids; a rescore changes nothing when nothing changed), so it may run again at any point."""
    lead = repo.find_lead(lead_id)
    if lead is None or lead.intake_pending is not None or lead.merged_into:
        return "nothing to do"
    if lead.quality == Quality.IMPLAUSIBLE.value:
        if lead.stage == Stage.LEAD.value:
            codes = ", ".join(sorted({r["code"] for r in lead.quality_reasons or []})) or "implausible"
            lifecycle.transition(lead, Stage.DISQUALIFIED, actor=ACTOR, reason=f"implausible: {codes}")
        return "disqualified"
    if lead.erased_at:
        return "erased"
    nurture.start(lead)
    engagement.attach_visitor(lead)
    if lead.quality == Quality.PLAUSIBLE.value:
        rescore(lead.lead_id)
    return "followed up"


def _enrichment_fields(lead: LeadModel) -> dict[str, Any]:
    found = enrich(email=lead.email, company=lead.company, job_title=lead.job_title, country=lead.country,
                   postal_code=lead.postal_code, rules=active_rules("enrichment"))
    # keeps the areas the lead's page visits added (services.engagement.visited_interest_fields)
    areas = with_areas(lead.interest_areas, interest_areas(lead.interests or [], active_rules("interests")))
    return {"enrichment": found.to_dict(), "interest_areas": areas or None}


def _matches(lead: LeadModel, keys: dedup.ContactKeys, domain: str | None) -> dict[str, Any]:
    """Existing leads and customers this contact matches (`domain`: a business email domain).

    Only the same normalised email is the same person for sure (`duplicate`, merged). A phone
    number is often a switchboard or a reception desk, and names repeat: a lead with the same
    phone, or a close name at a close company, is a `possible_duplicate` for a person to judge."""
    me = f"lead#{lead.lead_id}"
    lookup = keys.all() + ([f"domain#{domain}"] if domain else [])
    refs = directory.refs_for(lookup)

    def other_leads(key: str | None) -> list[str]:
        return [r.split("#", 1)[1] for r in refs.get(key, []) if r != me and r.startswith("lead#")] if key else []

    duplicate = next(iter(other_leads(keys.email)), None)
    exact = [r for k in (keys.email, keys.phone) if k for r in refs.get(k, []) if r != me]
    account = next((r.split("#")[1] for r in exact if r.startswith("contact#")), None)
    if account is None and domain:
        account = next((r.split("#", 1)[1] for r in refs.get(f"domain#{domain}", [])), None)
    possible, possible_by = None, None
    if not duplicate:
        for other_id in other_leads(keys.phone):
            other = surviving_lead(other_id)
            if other is not None and other.lead_id != lead.lead_id and other.quality != Quality.IMPLAUSIBLE.value:
                possible, possible_by = other.lead_id, "phone"
                break
    if keys.name_company and not duplicate and not possible:
        me_data = {"first_name": lead.first_name, "last_name": lead.last_name, "company": lead.company}
        for other_id in other_leads(keys.name_company):
            other = surviving_lead(other_id)
            if other is None or other.lead_id == lead.lead_id or other.quality == Quality.IMPLAUSIBLE.value:
                continue  # a junk record is nobody to compare with
            if dedup.same_person(me_data, {"first_name": other.first_name, "last_name": other.last_name,
                                           "company": other.company}) >= dedup.FUZZY_THRESHOLD:
                possible, possible_by = other.lead_id, "name"
                break
    return {"duplicate": duplicate, "possible_duplicate": possible, "possible_by": possible_by,
            "account": account}


def surviving_lead(lead_id: str) -> LeadModel | None:
    """The lead, or the lead it was merged into (a merged submission is a closed record). Not
    services.erasure.live_lead, which answers whether a lead may still record anything."""
    lead = repo.find_lead(lead_id)
    for _ in range(5):
        if lead is None or not lead.merged_into:
            return lead
        lead = repo.find_lead(lead.merged_into)
    return lead


def possible_duplicates_of(lead_ids: list[str]) -> list[list[str]]:
    """For each lead: the leads the checks flagged as its possible duplicates (waiting in review,
    or decided). One Query per lead (the links are a partition each)."""
    refs = directory.refs_for([DUPLICATE_LINK + lead_id for lead_id in lead_ids])
    return [sorted(r.split("#", 1)[1] for r in refs[DUPLICATE_LINK + lead_id] if r.startswith("lead#"))
            for lead_id in lead_ids]


def _customer_fields(matches: dict[str, Any]) -> dict[str, Any]:
    if not matches["account"]:
        return {"existing_customer": False}
    account = directory.get_account(matches["account"])
    if account is None:
        return {"existing_customer": False}
    return {"existing_customer": True, "account_id": account.account_id, "account_owner_id": account.owner_id,
            "key_account": bool(account.key_account), "key_account_marketing": bool(account.marketing_allowed)}


def _merge_into(lead: LeadModel, target_id: str, fields: dict[str, Any], reasons: list[dict]) -> str:
    """The same email again: this submission goes into the older lead (judged like a new request),
    and is itself retired."""
    target = surviving_lead(target_id)
    if target is None:
        directory.remove_refs([k for k in contact_keys(lead).all()], f"lead#{target_id}")
        return qualify_lead(lead.lead_id)  # stale index entry: judge on its own
    take_submission(target, _as_update(lead), actor=ACTOR, note=f"merged lead {lead.lead_id}")
    # one change: a crash between a verdict and the closing would leave an open duplicate behind
    lifecycle.transition(lead, Stage.DISQUALIFIED, actor=ACTOR, reason=f"duplicate of {target.lead_id}",
                         extra_fields={**fields, "quality": lead.quality if lead.quality != "pending"
                                       else Quality.PLAUSIBLE.value, "quality_reasons": reasons,
                                       "merged_into": target.lead_id, "intake_pending": None},
                         follow_ups=event("LeadQualified", leadId=lead.lead_id, quality="duplicate",
                                          existingCustomer=bool(fields.get("existing_customer"))))
    return "duplicate"


def merge_reviewed(lead: LeadModel, *, actor: str) -> LeadModel:
    """A reviewer says the possible duplicate is the same person: its submission goes into the older
    lead like a resubmission (nothing it asked for is lost), and it is closed as merged."""
    target = surviving_lead(lead.duplicate_of) if lead.duplicate_of else None
    if target is None:
        raise NotFound(f"lead {lead.lead_id} has no possible duplicate to merge into", field="id")
    take_submission(target, _as_update(lead), actor=actor, note=f"merged lead {lead.lead_id}")
    return lifecycle.transition(lead, Stage.DISQUALIFIED, actor=actor, reason=f"duplicate of {target.lead_id}",
                                extra_fields={"merged_into": target.lead_id, "review_queue": None,
                                              "review_sort": None})


def _as_update(lead: LeadModel) -> dict[str, Any]:
    data = {name: getattr(lead, name) for name in MERGEABLE}
    data["interests"] = list(lead.interests or [])
    data["form_id"] = lead.form_id
    return data


def _form_of(update: dict[str, Any]) -> dict[str, Any]:
    """A submission update (snake_case fields) in the capture form's shape, for the checks."""
    from pydantic.alias_generators import to_camel

    return {to_camel(name): value for name, value in update.items() if value not in (None, "", [])}


def take_submission(target: LeadModel, update: dict[str, Any], *, actor: str, note: str) -> LeadModel:
    """A new submission of a known person, judged like a new one. Junk changes nothing; a lead in a
    side exit (DISQUALIFIED, LOST, RECYCLED) is re-opened as a new cycle; any other lead takes what is
    new and is scored again, so a request for a quote hands it to sales at once. Safe to run twice."""
    if target.erased_at:
        return target  # erased on request: no personal data comes back
    if any(note in (h.reason or "") for h in repo.history_of(target.lead_id)):
        return target  # this submission was taken already
    from leadflow.domain.plausibility import check

    junk = target.quality == Quality.IMPLAUSIBLE.value
    form = {**({} if junk else submission_of(target)), **_form_of(update), "email": target.email}
    verdict = check(form, active_rules("plausibility"))
    if verdict.verdict == Quality.IMPLAUSIBLE.value:
        codes = sorted({r.code for r in verdict.reasons})
        return lifecycle.record(target, kind="merge", actor=actor,
                                reason=f"{note} not taken: implausible: {', '.join(codes)}",
                                details={"reasons": codes})
    if Stage(target.stage) in REOPENABLE:
        return _reopen(target, update, actor=actor, note=note, replace=junk)
    return merge_submission(target, update, actor=actor, note=note)


def _reopen(target: LeadModel, update: dict[str, Any], *, actor: str, note: str, replace: bool) -> LeadModel:
    """A new cycle of a closed lead: back to LEAD (a new entry for the counters, the old cycle stays in
    the history) and qualified again. The contact data of a lead judged junk is replaced."""
    now = clock.now()
    fields = _filled(target, update)
    if replace:  # what a bot typed is no data of the person who now writes
        fields.update({name: update.get(name) or None for name in CONTACT_FIELDS})
        fields["interests"] = list(update.get("interests") or []) or None
    fields["message"] = update.get("message") or None  # the new cycle is judged on its own request
    if update.get("form_id"):
        fields["form_id"] = update["form_id"]
    earlier = sorted({*(target.earlier_owners or []), *([target.owner_id] if target.owner_id else [])})
    fields.update(quality=Quality.PENDING.value, quality_reasons=None, duplicate_of=None, review_queue=None,
                  review_sort=None, intake_pending=intake.pending_key(target.lead_id), intake_attempts=0,
                  created_sort=f"{repo.at_iso(now)}#{target.lead_id}", submissions=int(target.submissions or 1) + 1,
                  owner_id=None, owner_sort=None, queue_manager=None, sla_bucket=None, sla_due=None,
                  earlier_owners=earlier or None)
    old_keys = set(contact_keys(target).all())
    lead = lifecycle.transition(target, Stage.LEAD, actor=actor, reason=f"re-opened by a new request ({note})",
                                at=now, extra_fields=fields, details={"reopened_from": target.stage},
                                follow_ups=event("LeadStageChanged", leadId=target.lead_id, to=Stage.LEAD.value,
                                                 reopened=True) + work("intake", leadId=target.lead_id))
    stale = old_keys - set(contact_keys(lead).all())
    if stale:
        directory.remove_refs(stale, f"lead#{lead.lead_id}")
    return lead


def _filled(target: LeadModel, update: dict[str, Any]) -> dict[str, Any]:
    """What a submission adds to a lead: empty fields filled, new interests, the last campaign."""
    fields: dict[str, Any] = {}
    for name in MERGEABLE:
        if update.get(name) and not getattr(target, name):
            fields[name] = update[name]
    new_interests = [i for i in update.get("interests") or [] if i not in (target.interests or [])]
    if new_interests:
        fields["interests"] = list(target.interests or []) + new_interests
        areas = with_areas(target.interest_areas, interest_areas(fields["interests"], active_rules("interests")))
        fields["interest_areas"] = areas or None
    if update.get("campaign") and update["campaign"] != (target.last_campaign or target.campaign):
        fields["last_campaign"] = update["campaign"]
    return fields


def merge_submission(target: LeadModel, update: dict[str, Any], *, actor: str, note: str) -> LeadModel:
    """Fill empty fields and add new interests; never overwrite what the lead already said. A new
    message goes before the earlier ones (the scoring reads the newest request too)."""
    fields = _filled(target, update)
    message = (update.get("message") or "").strip()
    if message and target.message and message not in target.message:
        fields["message"] = f"{message}\n\n---\n{target.message}"[:MESSAGE_MAX]
    fields["submissions"] = int(target.submissions or 1) + 1
    return lifecycle.record(target, kind="merge", actor=actor, reason=note, set_fields=fields,
                            details={"filled": sorted(k for k in fields if k != "submissions")},
                            follow_ups=rescore_follow_up(target.lead_id))


def merge_resubmission(lead_id: str, *, submission_id: str) -> None:
    """A later form of a known email address (the capture returned the existing lead and kept the
    form as a pending submission). Taken once, then dropped; a redelivery finds it taken or gone."""
    submission = repo.pending("resub", lead_id, submission_id)
    if submission is None:
        return  # taken and dropped by an earlier delivery
    target = surviving_lead(lead_id)
    if target is not None:
        take_submission(target, submission, actor="system:capture", note=f"resubmission {submission_id}")
    repo.drop_pending("resub", lead_id, submission_id)
