"""`check(submission)`: run every check, then let the policy decide the verdict.

Verdict policy (severities come from config/plausibility.yaml):
* any `reject` reason                      -> implausible
* `review_reasons_to_reject` review reasons -> implausible (several oddities at once)
* any `review` reason                      -> needs_review
* otherwise (maybe with `info` reasons)    -> plausible
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import address, contact, identity, junk, people
from .findings import Findings
from .model import IMPLAUSIBLE, NEEDS_REVIEW, PLAUSIBLE, REJECT, REVIEW, Verdict
from .rules import PlausibilityRules, load_default_rules

TEXT_FIELDS = (
    "firstName", "lastName", "email", "phone", "company", "jobTitle", "street", "postalCode", "city",
    "country", "message", "source", "campaign", "formId",
)


def as_text(value: Any) -> str:
    """Form values as text: None -> '', numbers -> str, lists joined (never raises)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(as_text(v) for v in value)
    if isinstance(value, Mapping):
        return " ".join(as_text(v) for v in value.values())
    return str(value)


def _generic_checks(fields: Mapping[str, str], findings: Findings) -> None:
    for name, value in fields.items():
        if not value:
            continue
        junk.check_injection(name, value, findings)
        junk.check_links(name, value, findings)
        junk.check_length(name, value, findings)


def _contact_checks(fields: Mapping[str, str], country: str | None, findings: Findings) -> None:
    email, phone = fields["email"], fields["phone"]
    has_email, has_phone = not contact.is_blank(email), not contact.is_blank(phone)
    if not has_email and not has_phone:
        findings.add("contact_missing", "email", "neither an email address nor a phone number")
    if has_email:
        contact.check_email(email, findings)
    if has_phone:
        contact.check_phone(phone, country, findings)


def _address_checks(fields: Mapping[str, str], findings: Findings) -> str | None:
    country = address.normalise_country(fields["country"], findings)
    if country and not address.check_country(country, findings):
        country = None
    if fields["postalCode"].strip():
        address.check_postal_code(fields["postalCode"], country, findings)
    if fields["city"].strip() and not findings.has("city"):
        address.check_city(fields["city"], country, findings)
    both_fine = not findings.has("postalCode") and not findings.has("city")
    if country and fields["postalCode"].strip() and fields["city"].strip() and both_fine:
        address.check_postal_region(fields["postalCode"], fields["city"], country, findings)
    return country


def _free_text_checks(fields: Mapping[str, str], findings: Findings) -> None:
    first, last = fields["firstName"], fields["lastName"]
    people.check_person(first, last, findings)
    if fields["company"].strip():
        people.check_company(fields["company"], findings)
        if not findings.has("company"):
            identity.check_company_is_name(fields["company"], first, last, findings)
    if not contact.is_blank(fields["email"]):
        identity.check_email_fits_person(fields["email"], first, last, findings)
    if fields["jobTitle"].strip():
        people.check_job_title(fields["jobTitle"], findings)
    if fields["street"].strip() and not findings.has("street"):
        people.check_street(fields["street"], findings)
    if fields["message"].strip():
        junk.check_message(fields["message"], findings)


def decide(findings: Findings) -> str:
    severities = [reason.severity for reason in findings.reasons]
    if REJECT in severities:
        return IMPLAUSIBLE
    reviews = severities.count(REVIEW)
    if reviews and reviews >= findings.rules.review_reasons_to_reject:
        return IMPLAUSIBLE
    return NEEDS_REVIEW if reviews else PLAUSIBLE


def check(submission: Mapping[str, Any], rules: PlausibilityRules | None = None) -> Verdict:
    """Judge one form submission (capture field names, camelCase). Never raises on odd input."""
    rules = rules or load_default_rules()
    findings = Findings(rules)
    if not isinstance(submission, Mapping):
        findings.add("contact_missing", "email", "the submission is not a set of form fields")
        return Verdict(IMPLAUSIBLE, findings.reasons, rules.version)
    fields = {name: as_text(submission.get(name)) for name in TEXT_FIELDS}
    interests = as_text(submission.get("interests"))
    _generic_checks({**fields, "interests": interests}, findings)
    country = _address_checks(fields, findings)
    _contact_checks(fields, country, findings)
    _free_text_checks(fields, findings)
    verdict = decide(findings)
    if verdict == NEEDS_REVIEW and not contact.is_blank(fields["phone"]) and not findings.has("phone"):
        _suggest_phone_format(fields["phone"], country, findings)
    return Verdict(verdict, findings.reasons, rules.version)


def _suggest_phone_format(phone: str, country: str | None, findings: Findings) -> None:
    """A person will look at this lead anyway: offer the number in international form."""
    normalised = contact.normalised_phone(phone, country, findings.rules)
    if normalised and normalised != phone.strip():
        findings.add("phone_format", "phone", f"written internationally: {normalised}",
                     suggest=[("phone", phone, normalised)])
