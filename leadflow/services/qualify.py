"""Qualify a captured lead (SQS intake consumer): plausibility, dedup and merge,
existing-customer flag, enrichment, interest areas. Safe to run twice."""

from __future__ import annotations

import logging
from typing import Any

from leadflow.adapters import events
from leadflow.domain import dedup
from leadflow.domain.enrichment import enrich, interest_areas
from leadflow.domain.lifecycle import Quality, Stage
from leadflow.services import engagement, lifecycle, nurture
from leadflow.services.rescore import request_rescore
from leadflow.services.rulesets import active_rules
from leadflow.store import directory
from leadflow.store import leads as repo
from leadflow.store.models import LeadModel

log = logging.getLogger(__name__)

REVIEW_QUEUE = "needs_review"
ACTOR = "system:qualify"
# Fields a later submission of the same person may fill in (never overwrite what the lead said).
MERGEABLE = ("first_name", "last_name", "phone", "company", "job_title", "street", "postal_code", "city",
             "country", "message", "source", "campaign")


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
                          last_name=lead.last_name, company=lead.company)


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
    if matches["possible_duplicate"] and quality == Quality.PLAUSIBLE.value:
        quality = Quality.NEEDS_REVIEW.value
        reasons.append({"code": "possible_duplicate", "field": "lastName",
                        "message": f"looks like lead {matches['possible_duplicate']} (name and company)"})
    fields.update(quality=quality, quality_reasons=reasons, duplicate_of=matches["possible_duplicate"],
                  intake_pending=None)
    if quality == Quality.NEEDS_REVIEW.value:
        fields.update(review_queue=REVIEW_QUEUE, review_sort=repo.at_iso(lead.created_at) + "#" + lead.lead_id)
    lead = lifecycle.record(lead, kind="quality", actor=ACTOR, reason=quality,
                            set_fields=fields, details={"reasons": [r["code"] for r in reasons]})
    directory.add_refs(keys.all(), f"lead#{lead.lead_id}")
    if quality == Quality.IMPLAUSIBLE.value:
        codes = ", ".join(sorted({r["code"] for r in reasons})) or "implausible"
        lead = lifecycle.transition(lead, Stage.DISQUALIFIED, actor=ACTOR, reason=f"implausible: {codes}")
    events.publish("LeadQualified", {"leadId": lead.lead_id, "quality": quality,
                                     "existingCustomer": bool(lead.existing_customer)})
    if quality != Quality.IMPLAUSIBLE.value:
        nurture.start(lead)
        engagement.attach_visitor(lead)
    if quality == Quality.PLAUSIBLE.value:
        request_rescore(lead.lead_id)
    return quality


def _enrichment_fields(lead: LeadModel) -> dict[str, Any]:
    found = enrich(email=lead.email, company=lead.company, job_title=lead.job_title, country=lead.country,
                   postal_code=lead.postal_code, rules=active_rules("enrichment"))
    areas = interest_areas(lead.interests or [], active_rules("interests"))
    return {"enrichment": found.to_dict(), "interest_areas": areas or None}


def _matches(lead: LeadModel, keys: dedup.ContactKeys, domain: str | None) -> dict[str, Any]:
    """Existing leads and customers this contact matches (`domain`: a business email domain)."""
    me = f"lead#{lead.lead_id}"
    lookup = keys.all() + ([f"domain#{domain}"] if domain else [])
    refs = directory.refs_for(lookup)
    exact = [r for k in (keys.email, keys.phone) if k for r in refs.get(k, []) if r != me]
    duplicate = next((r.split("#", 1)[1] for r in exact if r.startswith("lead#")), None)
    account = next((r.split("#")[1] for r in exact if r.startswith("contact#")), None)
    if account is None and domain:
        account = next((r.split("#", 1)[1] for r in refs.get(f"domain#{domain}", [])), None)
    possible = None
    if keys.name_company and not duplicate:
        me_data = {"first_name": lead.first_name, "last_name": lead.last_name, "company": lead.company}
        for ref in refs.get(keys.name_company, []):
            if ref == me or not ref.startswith("lead#"):
                continue
            other = repo.find_lead(ref.split("#", 1)[1])
            if other and dedup.same_person(me_data, {"first_name": other.first_name,
                                                     "last_name": other.last_name,
                                                     "company": other.company}) >= dedup.FUZZY_THRESHOLD:
                possible = other.lead_id
                break
    return {"duplicate": duplicate, "possible_duplicate": possible, "account": account}


def _customer_fields(matches: dict[str, Any]) -> dict[str, Any]:
    if not matches["account"]:
        return {"existing_customer": False}
    account = directory.get_account(matches["account"])
    if account is None:
        return {"existing_customer": False}
    return {"existing_customer": True, "account_id": account.account_id, "account_owner_id": account.owner_id,
            "key_account": bool(account.key_account), "key_account_marketing": bool(account.marketing_allowed)}


def _merge_into(lead: LeadModel, target_id: str, fields: dict[str, Any], reasons: list[dict]) -> str:
    """The same person again: fill the older lead's gaps, retire this submission."""
    target = repo.find_lead(target_id)
    if target is None or target.merged_into:
        directory.remove_refs([k for k in contact_keys(lead).all()], f"lead#{target_id}")
        return qualify_lead(lead.lead_id)  # stale index entry: judge on its own
    merge_submission(target, _as_update(lead), actor=ACTOR, note=f"merged lead {lead.lead_id}")
    lead = lifecycle.record(lead, kind="quality", actor=ACTOR, reason="duplicate",
                            set_fields={**fields, "quality": lead.quality if lead.quality != "pending"
                                        else Quality.PLAUSIBLE.value, "quality_reasons": reasons,
                                        "merged_into": target_id, "intake_pending": None,
                                        })
    lifecycle.transition(lead, Stage.DISQUALIFIED, actor=ACTOR, reason=f"duplicate of {target_id}")
    return "duplicate"


def _as_update(lead: LeadModel) -> dict[str, Any]:
    data = {name: getattr(lead, name) for name in MERGEABLE}
    data["interests"] = list(lead.interests or [])
    return data


def merge_submission(target: LeadModel, update: dict[str, Any], *, actor: str, note: str) -> LeadModel:
    """Fill empty fields and add new interests; never overwrite what the lead already said."""
    fields: dict[str, Any] = {}
    for name in MERGEABLE:
        if update.get(name) and not getattr(target, name):
            fields[name] = update[name]
    new_interests = [i for i in update.get("interests") or [] if i not in (target.interests or [])]
    if new_interests:
        fields["interests"] = list(target.interests or []) + new_interests
        areas = interest_areas(fields["interests"], active_rules("interests"))
        fields["interest_areas"] = areas or None
    if update.get("campaign") and update["campaign"] != (target.last_campaign or target.campaign):
        fields["last_campaign"] = update["campaign"]
    fields["submissions"] = int(target.submissions or 1) + 1
    return lifecycle.record(target, kind="merge", actor=actor, reason=note, set_fields=fields,
                            details={"filled": sorted(k for k in fields if k != "submissions")})


def merge_resubmission(lead_id: str, submission: dict[str, Any], *, submission_id: str) -> None:
    """A later form of a known email address (the capture returned the existing lead)."""
    target = repo.find_lead(lead_id)
    if target is None:
        return
    if any(h.kind == "merge" and h.reason == f"resubmission {submission_id}" for h in repo.history_of(lead_id)):
        return  # this delivery was merged already
    merge_submission(target, submission, actor="system:capture", note=f"resubmission {submission_id}")


