"""The leads a fault run sends through the pipeline, and what must be true of them at the end."""

from __future__ import annotations

from dataclasses import dataclass

CONSENT = {"purposes": ["email_marketing"], "textVersion": "v1"}
QUOTE = {  # a buyer asking for an offer: MQL at once, routed to a rep
    "firstName": "Katharina", "lastName": "Brandt", "email": "k.brandt@brandt-spedition.de",
    "phone": "+49 40 3018840", "company": "Brandt Spedition GmbH", "jobTitle": "Geschäftsführerin",
    "street": "Am Sandtorkai 5", "postalCode": "20457", "city": "Hamburg", "country": "DE",
    "interests": ["Lagerlogistik"], "source": "website", "formId": "quote",
    "message": "Bitte senden Sie uns ein Angebot für zwei Lager", "consent": CONSENT,
}
CURIOUS = {  # a genuine contact who only wants to read: stays a LEAD, nurtured (DOI mail)
    "firstName": "Jonas", "lastName": "Weber", "email": "jonas.weber@weber-logistik.de",
    "company": "Weber Logistik GmbH", "jobTitle": "Sachbearbeiter", "postalCode": "80331", "city": "München",
    "country": "DE", "interests": ["Fuhrpark"], "source": "website", "formId": "contact",
    "message": "Infos zu Fuhrpark", "consent": CONSENT,
}
AGAIN = {**CURIOUS, "message": "Und was kostet die Telematik?", "interests": ["Telematik"], "formId": "newsletter"}
JUNK = {"firstName": "asdf", "lastName": "asdf", "email": "test@test.com", "phone": "123456", "city": "xxx",
        "country": "DE", "consent": CONSENT}


@dataclass(frozen=True)
class Leads:
    quote: str
    curious: str
    junk: str


def run(world) -> Leads:
    quote = world.post_lead(QUOTE)
    curious = world.post_lead(CURIOUS)
    junk = world.post_lead(JUNK)
    world.run_until_quiet()
    again = world.post_lead(AGAIN)
    assert again == curious, "the same address found the same lead"
    world.run_until_quiet()
    return Leads(quote, curious, junk)


def check(world, leads: Leads, *, mail_may_repeat: bool) -> None:
    """Where every lead must be at the end, whatever single fault happened on the way."""
    from leadflow.adapters.outbox import sent_mails
    from leadflow.services.controlling import reconcile
    from leadflow.store import leads as repo
    from leadflow.store import nurture

    quote, curious, junk = (repo.get_lead(i) for i in (leads.quote, leads.curious, leads.junk))
    assert (quote.stage, quote.quality, quote.intake_pending) == ("MQL", "plausible", None)
    assert quote.owner_id, "the MQL was routed"
    assert quote.score_total is not None
    assignments = [h for h in repo.history_of(quote.lead_id) if h.kind == "assignment"]
    assert len(assignments) == 1, "routed exactly once"

    assert (curious.stage, curious.quality, curious.submissions) == ("LEAD", "plausible", 2)
    assert curious.score_total is not None and "Telematik" in (curious.interests or [])
    assert (junk.stage, junk.quality) == ("DISQUALIFIED", "implausible")

    for lead in (quote, curious):
        records, _ = nurture.ledger(lead.lead_id)
        assert [r["purpose"] for r in records] == ["email_marketing"], "the form's consent is recorded once"
        state, _ = nurture.journey_state(lead.lead_id)
        assert state is not None, "the lead entered nurturing"
    mails = sent_mails()
    for lead in (quote, curious):
        doi = [m for m in mails if lead.email in m.to and "/consent/confirm" in m.html]
        assert 1 <= len(doi) <= (2 if mail_may_repeat else 1), f"{len(doi)} DOI mails to {lead.lead_id}"
    assert not [m for m in mails if "test@test.com" in m.to], "nothing is ever sent to a junk address"
    assert world.dead_letters() == 0
    report = reconcile(None, None)
    assert report.ok, report.drift[:5]
