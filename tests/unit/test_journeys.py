"""Nurturing rules as marketing ops would check them: who gets what, when, on which channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from leadflow.domain.consent import ConsentSnapshot
from leadflow.domain.journey_config import Channel, JourneyBook, Settings, Step, parse_duration
from leadflow.domain.journeys import (
    LeadFacts,
    LeadState,
    Send,
    StepRun,
    age_group_of,
    apply_quiet_hours,
    choose_channel,
    decide_next,
    derive_region,
    evaluate_conditions,
    events_for,
    explain_channel,
    frequency_allows,
    lead_time_zone,
    next_allowed_at,
    plan_next_step,
    run_key,
    select_journey,
    stop_reason,
)
from leadflow.domain.lifecycle import Stage

CONFIG = Path(__file__).resolve().parents[2] / "config" / "journeys.yaml"
# A Tuesday, 10:00 in Berlin.
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

EMAIL_OK = ConsentSnapshot.of(confirmed=["email_marketing"])
ALL_OK = ConsentSnapshot.of(confirmed=["email_marketing", "phone", "post", "tracking"])


@pytest.fixture(scope="module")
def book() -> JourneyBook:
    return JourneyBook.from_dict(yaml.safe_load(CONFIG.read_text()))


def hamburg(**changes) -> LeadFacts:
    facts = LeadFacts(lead_id="L-hh", interests=("warehouse",), country="DE", postal_code="20095",
                      has_email=True, has_phone=True, has_postal_address=True, age_group="31-44")
    return replace(facts, **changes)


def state(facts: LeadFacts | None = None, **changes) -> LeadState:
    base = LeadState(facts=facts or hamburg(), stage=Stage.LEAD, consent=EMAIL_OK, journey_id="welcome",
                     entered_at=NOW)
    return replace(base, **changes)


def run_step(lead: LeadState, step_id: str, at: datetime, channel=Channel.EMAIL, **kw) -> LeadState:
    runs = lead.runs + (StepRun(step_id, at, "sent", channel, **kw),)
    sends = lead.sends + (Send(at, channel),)
    return replace(lead, runs=runs, sends=sends)


# --------------------------------------------------------------------------- the shipped config


def test_shipped_config_validates_and_starts_everyone_with_a_welcome_mail(book):
    assert book.default_journey.id == "welcome"
    for journey in book.journeys:
        first = journey.steps[0]
        assert first.content == "welcome" and first.channels == (Channel.EMAIL,)
        assert first.delay == timedelta(0)
    steps = {s.id: s for s in book.default_journey.steps}
    assert steps["hot-call"].channels == (Channel.PHONE,)
    assert steps["senior-letter"].channels == (Channel.POSTAL,)
    assert book.settings.quiet_hours.start == "20:00" and book.settings.quiet_hours.end == "08:00"


def test_a_published_version_round_trips_through_json(book):
    again = JourneyBook.from_dict(book.model_dump(mode="json"))
    assert again == book


@pytest.mark.parametrize("text,expected", [
    ("P2D", timedelta(days=2)), ("PT4H", timedelta(hours=4)), ("P1DT12H", timedelta(days=1, hours=12)),
    ("P1W", timedelta(weeks=1)), ("PT30M", timedelta(minutes=30)), (48, timedelta(hours=48)),
    (0.5, timedelta(minutes=30)), ("p2d", timedelta(days=2)),
])
def test_delays_are_iso_durations_or_hours(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "2 days", "P", "PT", "-P1D", -4, "P400D", True, None])
def test_ambiguous_or_absurd_delays_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def _doc(book: JourneyBook) -> dict:
    return book.model_dump(mode="json")


@pytest.mark.parametrize("mutate,where", [
    (lambda d: d["journeys"][1]["steps"].append(dict(d["journeys"][1]["steps"][0])), "journeys.1.steps"),
    (lambda d: d["journeys"][0].update(default=True), "journeys"),
    (lambda d: d["journeys"][1]["steps"][1].update(channel="fax"), "journeys.1.steps.1.channel"),
    (lambda d: d["journeys"][1]["steps"][1].update(conditions=["moon_is_full"]), "journeys.1.steps.1.conditions"),
    (lambda d: d["journeys"][1]["steps"][1].update(delay="P1M"), "journeys.1.steps.1.delay"),
    (lambda d: d["journeys"][1]["steps"][1].update(content="../../etc/passwd"), "journeys.1.steps.1.content"),
    (lambda d: d["settings"]["quiet_hours"].update(start="25:00"), "settings.quiet_hours.start"),
    (lambda d: d["settings"].update(default_time_zone="Mars/Olympus"), "settings.default_time_zone"),
    (lambda d: d["journeys"][1].update(colour="red"), "journeys.1.colour"),
])
def test_a_broken_document_is_refused_naming_the_place(book, mutate, where):
    doc = _doc(book)
    mutate(doc)
    with pytest.raises(ValidationError) as err:
        JourneyBook.from_dict(doc)
    loc = ".".join(str(p) for p in err.value.errors()[0]["loc"])
    assert loc.startswith(where)


def test_conditions_have_a_short_yaml_form():
    step = Step.model_validate({"id": "x", "channel": "email", "content": "welcome",
                                "conditions": ["last_mail_not_opened", {"segment_in": "hot"},
                                               {"existing_customer": False}]})
    assert [c.kind for c in step.conditions] == ["last_mail_not_opened", "segment_in", "existing_customer"]
    assert step.conditions[1].values == ("hot",)


# --------------------------------------------------------------------------- journey selection


def test_existing_customers_get_their_own_journey_everyone_else_the_welcome(book):
    assert select_journey(hamburg(existing_customer=True), book).id == "existing-customers"
    assert select_journey(hamburg(existing_customer=False), book).id == "welcome"
    assert select_journey(hamburg(existing_customer=None), book).id == "welcome"


def test_entry_rules_by_interest_segment_and_region(book):
    doc = _doc(book)
    doc["journeys"].insert(0, {"id": "fleet-south-hot", "name": "Fleet south", "entry": {
        "interest_areas": ["fleet"], "segments": ["hot"], "regions": ["DE-south"]},
        "steps": [{"id": "welcome", "channel": "email", "content": "welcome"}]})
    custom = JourneyBook.from_dict(doc)
    munich_fleet_hot = hamburg(interests=("fleet",), postal_code="80331", segments=("hot",))
    assert select_journey(munich_fleet_hot, custom).id == "fleet-south-hot"
    assert select_journey(replace(munich_fleet_hot, postal_code="20095"), custom).id == "welcome"
    assert select_journey(replace(munich_fleet_hot, segments=("cold",)), custom).id == "welcome"
    doc["journeys"][0]["active"] = False
    assert select_journey(munich_fleet_hot, JourneyBook.from_dict(doc)).id == "welcome"


# --------------------------------------------------------------------------- double opt-in first


def test_no_marketing_mail_while_the_double_opt_in_is_pending(book):
    lead = state(consent=ConsentSnapshot.of(pending=["email_marketing"]))
    for hours in (0, 1, 24, 24 * 6):
        decision = decide_next(book, lead, NOW + timedelta(hours=hours))
        assert decision.action == "wait" and decision.reason == "doi_pending"
        assert decision.step.id == "welcome"


def test_an_expired_double_opt_in_never_mails_the_welcome(book):
    lead = state(consent=ConsentSnapshot.of(expired=["email_marketing"]))
    decision = decide_next(book, lead, NOW)
    assert decision.action == "skip" and "email: consent not given" in decision.reason


def test_after_confirmation_the_welcome_mail_comes_first(book):
    decision = decide_next(book, state(), NOW)
    assert (decision.action, decision.step.id, decision.channel) == ("email", "welcome", Channel.EMAIL)
    assert decision.content.content_key == "welcome"


def test_the_welcome_goes_out_even_late_at_night_because_the_person_just_confirmed(book):
    late = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    decision = decide_next(book, state(entered_at=late), late)
    assert decision.action == "email" and decision.step.id == "welcome"


# --------------------------------------------------------------------------- content follows interest and place


@pytest.mark.parametrize("interest", ["warehouse", "fleet", "software"])
def test_content_follows_the_interest_area(book, interest):
    lead = run_step(state(hamburg(interests=("unknown-thing", interest))), "welcome", NOW)
    decision = decide_next(book, lead, NOW + timedelta(days=2))
    assert decision.action == "email" and decision.step.id == "checklist"
    assert decision.content.content_key == f"{interest}/checklist"


def test_interest_content_is_skipped_without_a_known_interest(book):
    lead = run_step(state(hamburg(interests=())), "welcome", NOW)
    decision = decide_next(book, lead, NOW + timedelta(days=2))
    assert decision.action == "skip" and "no known interest area" in decision.reason


def test_regions_come_from_the_postal_code_when_enrichment_gave_none():
    assert derive_region("DE", "20095") == ("DE-2", "north")   # Hamburg
    assert derive_region("DE", "80331") == ("DE-8", "south")   # München
    assert derive_region("DE", "0815") == (None, None)
    assert derive_region("AT", "1010") == (None, None)
    assert hamburg().region_keys == {"DE-2", "DE-NORTH", "DE"}
    enriched = hamburg(region="DE-8", macro_region="south")
    assert enriched.region_keys == {"DE-8", "DE-SOUTH", "DE"}


def test_a_hamburg_lead_is_never_invited_to_a_munich_workshop(book):
    now = datetime(2027, 1, 10, 9, tzinfo=UTC)
    in_hamburg = [e.city for e in events_for(hamburg(), book, now)]
    in_munich = [e.city for e in events_for(hamburg(postal_code="80331"), book, now)]
    assert "Hamburg" in in_hamburg and "München" not in in_hamburg
    assert "München" in in_munich and "Hamburg" not in in_munich
    unknown = events_for(hamburg(postal_code=None), book, now)
    assert unknown and all(e.online for e in unknown)


def test_past_events_are_not_offered(book):
    after_all = datetime(2027, 12, 1, tzinfo=UTC)
    assert events_for(hamburg(), book, after_all) == []


def test_the_event_step_is_skipped_when_nothing_fits_the_region(book):
    doc = _doc(book)
    doc["events"] = [e for e in doc["events"] if not e.get("online") and e["city"] == "München"]
    only_munich = JourneyBook.from_dict(doc)
    journey = only_munich.default_journey
    lead = state(hamburg(interests=("warehouse",)))
    t = datetime(2027, 1, 4, 9, tzinfo=UTC)
    lead = replace(lead, entered_at=t)
    for step in journey.steps[:-1]:
        lead = replace(lead, runs=lead.runs + (StepRun(step.id, t, "skipped"),))
    decision = decide_next(only_munich, lead, t + timedelta(days=6))
    assert decision.step.id == "event-invitation"
    assert decision.action == "skip" and "no upcoming event in the lead's region" in decision.reason


# --------------------------------------------------------------------------- channel choice


@pytest.fixture
def letter_or_mail() -> Step:
    return Step(id="s", channel=(Channel.EMAIL, Channel.POSTAL), content="welcome")


def test_sixty_plus_gets_a_letter_twenty_somethings_an_email(book, letter_or_mail):
    settings = book.settings
    assert choose_channel(letter_or_mail, hamburg(age_group="60+"), ALL_OK, settings) is Channel.POSTAL
    assert choose_channel(letter_or_mail, hamburg(age_group="20-30"), ALL_OK, settings) is Channel.EMAIL
    assert age_group_of(67) == "60+" and age_group_of(25) == "20-30" and age_group_of(None) is None


def test_consent_comes_before_the_age_rule(book, letter_or_mail):
    senior = hamburg(age_group="60+")
    assert choose_channel(letter_or_mail, senior, EMAIL_OK, book.settings) is Channel.EMAIL
    assert choose_channel(letter_or_mail, senior, ConsentSnapshot.of(pending=["email_marketing"]),
                          book.settings) is None


def test_the_stated_preference_comes_before_the_age_rule(book, letter_or_mail):
    senior_prefers_mail = hamburg(age_group="60+", preferred_channel=Channel.EMAIL)
    assert choose_channel(letter_or_mail, senior_prefers_mail, ALL_OK, book.settings) is Channel.EMAIL
    young_prefers_post = hamburg(age_group="20-30", preferred_channel=Channel.POSTAL)
    assert choose_channel(letter_or_mail, young_prefers_post, ALL_OK, book.settings) is Channel.POSTAL
    # a preference for a channel without consent does not count
    assert choose_channel(letter_or_mail, young_prefers_post, EMAIL_OK, book.settings) is Channel.EMAIL


def test_post_needs_consent_or_the_legitimate_interest_flag_and_an_objection_always_wins(book):
    letter = Step(id="s", channel=Channel.POSTAL, content="welcome")
    assert choose_channel(letter, hamburg(), EMAIL_OK, book.settings) is None
    flagged = book.settings.model_copy(update={"postal_without_consent": True})
    assert choose_channel(letter, hamburg(), EMAIL_OK, flagged) is Channel.POSTAL
    objected = ConsentSnapshot.of(confirmed=["email_marketing"], withdrawn=["post"])
    assert choose_channel(letter, hamburg(), objected, flagged) is None
    assert choose_channel(letter, hamburg(has_postal_address=False), ALL_OK, book.settings) is None


def test_phone_needs_phone_consent_and_a_number(book):
    call = Step(id="s", channel=Channel.PHONE, content="welcome")
    assert choose_channel(call, hamburg(), EMAIL_OK, book.settings) is None
    assert choose_channel(call, hamburg(), ALL_OK, book.settings) is Channel.PHONE
    assert choose_channel(call, hamburg(has_phone=False), ALL_OK, book.settings) is None
    channel, notes = explain_channel(call, hamburg(), EMAIL_OK, book.settings)
    assert channel is None and notes == ["phone: no consent"]


def test_hot_leads_get_a_call_task_after_the_checklist(book):
    lead = state(hamburg(segments=("hot",)), consent=ALL_OK)
    lead = run_step(lead, "welcome", NOW)
    lead = run_step(lead, "checklist", NOW + timedelta(days=2))
    decision = decide_next(book, lead, NOW + timedelta(days=3))
    assert (decision.action, decision.step.id, decision.channel) == ("task", "hot-call", Channel.PHONE)
    cold = replace(lead, facts=hamburg(segments=("cold",)))
    decision = decide_next(book, cold, NOW + timedelta(days=3))
    assert decision.action == "skip" and "segment is not one of hot" in decision.reason


# --------------------------------------------------------------------------- quiet hours and caps


def test_a_new_york_lead_is_not_mailed_at_three_in_the_morning(book):
    due = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 03:00 in New York, 09:00 in Berlin
    moved = apply_quiet_hours(due, "America/New_York", book.settings)
    assert moved == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert apply_quiet_hours(due, "Europe/Berlin", book.settings) == due


def test_the_time_zone_comes_from_the_country_when_unknown(book):
    assert str(lead_time_zone(None, "US")) == "America/New_York"
    assert str(lead_time_zone("Not/AZone", "AT")) == "Europe/Vienna"
    assert str(lead_time_zone(None, None)) == "Europe/Berlin"
    new_yorker = hamburg(country="US", postal_code="10001", time_zone=None)
    lead = run_step(state(new_yorker, entered_at=NOW - timedelta(days=3)), "welcome", NOW - timedelta(days=3))
    at_3am_local = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    decision = decide_next(book, lead, at_3am_local)
    assert decision.action == "wait" and decision.reason == "quiet_hours"
    assert decision.not_before == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def test_evenings_move_to_the_next_morning_and_sundays_to_monday(book):
    settings = book.settings
    tuesday_2130_berlin = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
    assert apply_quiet_hours(tuesday_2130_berlin, "Europe/Berlin", settings) == \
        datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    saturday_2200 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    assert apply_quiet_hours(saturday_2200, "Europe/Berlin", settings) == \
        datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00
    no_quiet = Settings(quiet_hours=None)
    assert apply_quiet_hours(saturday_2200, "Europe/Berlin", no_quiet) == saturday_2200


def test_quiet_hours_follow_daylight_saving_time(book):
    # 29 March 2026: clocks go forward in Berlin; Monday 30 March 05:30 UTC is 07:30 local.
    early = datetime(2026, 3, 30, 5, 30, tzinfo=UTC)
    assert apply_quiet_hours(early, "Europe/Berlin", book.settings) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


def test_frequency_cap_two_mails_a_week(book):
    settings = book.settings
    sent = [NOW - timedelta(days=6), NOW - timedelta(days=2)]
    assert not frequency_allows(sent, NOW, settings)
    assert next_allowed_at(sent, NOW, settings) == NOW + timedelta(days=1)
    assert frequency_allows(sent, NOW + timedelta(days=1), settings)
    assert not frequency_allows([NOW - timedelta(hours=3)], NOW, settings)  # one a day
    assert frequency_allows([NOW - timedelta(hours=3)], NOW, settings, channel=Channel.POSTAL)


def test_a_capped_step_waits_instead_of_being_skipped(book):
    lead = run_step(state(), "welcome", NOW)
    lead = replace(lead, sends=lead.sends + (Send(NOW + timedelta(days=1)),))  # a campaign mail
    decision = decide_next(book, lead, NOW + timedelta(days=2))
    assert decision.action == "wait" and decision.reason == "frequency_cap"
    assert decision.not_before == NOW + timedelta(days=7)


# --------------------------------------------------------------------------- stopping


@pytest.mark.parametrize("changes,reason", [
    ({"stage": Stage.SAL}, "stage_sal_or_later"),
    ({"stage": Stage.SQL}, "stage_sal_or_later"),
    ({"stage": Stage.OPPORTUNITY}, "stage_sal_or_later"),
    ({"stage": Stage.CUSTOMER}, "customer"),
    ({"stage": Stage.DISQUALIFIED}, "disqualified"),
    ({"stage": "LOST"}, "lost"),
    ({"unsubscribed_at": NOW}, "unsubscribed"),
    ({"consent": ConsentSnapshot.of(confirmed=["post"], withdrawn=["email_marketing"])}, "consent_withdrawn"),
    ({"erased": True}, "erased"),
    ({"email_status": "bounced"}, "email_bounced"),
    ({"email_status": "complained"}, "complained"),
    ({"quality": "implausible"}, "implausible"),
])
def test_nurturing_stops_for_good(book, changes, reason):
    lead = state(**changes)
    assert stop_reason(lead) == reason
    assert decide_next(book, lead, NOW) .action == "stop"


@pytest.mark.parametrize("stage", [Stage.LEAD, Stage.MQL, Stage.RECYCLED])
def test_marketing_keeps_nurturing_before_sales_accepts(stage):
    assert stop_reason(state(stage=stage)) is None


# --------------------------------------------------------------------------- timing, conditions, at most once


def test_each_step_is_due_its_delay_after_the_previous_one(book):
    journey = book.default_journey
    lead = state()
    assert plan_next_step(journey, lead, NOW).due_at == NOW
    lead = run_step(lead, "welcome", NOW + timedelta(minutes=5))
    planned = plan_next_step(journey, lead, NOW)
    assert planned.step.id == "checklist" and planned.due_at == NOW + timedelta(days=2, minutes=5)
    assert decide_next(book, lead, NOW + timedelta(days=1)).action == "wait"
    assert plan_next_step(journey, replace(lead, entered_at=None), NOW) is None


def test_a_step_that_ran_never_runs_again_even_after_republishing(book):
    lead = run_step(state(), "welcome", NOW)
    doc = _doc(book)
    welcome = doc["journeys"][1]
    welcome["version"] = 2
    welcome["steps"].insert(0, {"id": "new-intro", "channel": "email", "content": "welcome"})
    republished = JourneyBook.from_dict(doc)
    planned = plan_next_step(republished.default_journey, lead, NOW)
    assert planned.step.id == "checklist"  # not the welcome again, not the step inserted before it
    assert run_key("L1", "welcome", "welcome") == "run#L1#welcome#welcome"


def test_the_reminder_goes_only_to_those_who_did_not_open(book):
    journey = book.default_journey
    reminder = journey.step("service-info-if-unopened")
    lead = run_step(state(), "welcome", NOW)
    unopened = run_step(lead, "checklist", NOW + timedelta(days=2))
    assert evaluate_conditions(reminder, unopened) == (True, None)
    opened = run_step(lead, "checklist", NOW + timedelta(days=2), opened_at=NOW + timedelta(days=2, hours=1))
    ok, why = evaluate_conditions(reminder, opened)
    assert not ok and "was opened" in why
    assert evaluate_conditions(reminder, state())[0] is False  # nothing sent yet: nothing to remind of


def test_link_clicked_and_region_conditions():
    step = Step.model_validate({"id": "x", "channel": "email", "content": "welcome",
                                "conditions": ["link_clicked", {"region_in": ["DE-north"]}]})
    lead = run_step(state(), "welcome", NOW)
    assert evaluate_conditions(step, lead) == (False, "no link was clicked yet")
    clicked = run_step(state(), "welcome", NOW, clicked_at=NOW)
    assert evaluate_conditions(step, clicked) == (True, None)
    munich = replace(clicked, facts=hamburg(postal_code="80331"))
    ok, why = evaluate_conditions(step, munich)
    assert not ok and "DE-SOUTH" in why


def test_a_month_of_sweeps_for_a_hamburg_lead(book):
    """Drive the sweep hourly for 40 days and look at what the lead actually receives."""
    start = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)  # Monday 18:00 Berlin: confirms the DOI
    lead = state(hamburg(segments=("hot",)), consent=ALL_OK, entered_at=start)
    received: list[tuple[datetime, str, Channel, str]] = []
    now = start
    while now < start + timedelta(days=40):
        decision = decide_next(book, lead, now)
        if decision.action in ("email", "task"):
            received.append((now, decision.step.id, decision.channel, decision.content.content_key))
            lead = run_step(lead, decision.step.id, now, decision.channel)
            continue
        if decision.action == "skip":
            lead = replace(lead, runs=lead.runs + (StepRun(decision.step.id, now, "skipped", why=decision.reason),))
            continue
        if decision.action in ("stop", "done"):
            break
        now += timedelta(hours=1)

    steps = [r[1] for r in received]
    assert steps[0] == "welcome" and received[0][0] == start
    assert steps == ["welcome", "checklist", "hot-call", "service-info-if-unopened", "whitepaper",
                     "event-invitation"]  # senior letter skipped: not 60+
    assert len(set(steps)) == len(steps)
    mails = [r[0] for r in received if r[2] is Channel.EMAIL]
    for i, at in enumerate(mails):
        assert len([t for t in mails[: i + 1] if at - t < timedelta(days=7)]) <= 2
    for at, step_id, channel, _ in received[1:]:
        local = at.astimezone(lead_time_zone(None, "DE"))
        assert 8 <= local.hour < 20 and local.weekday() != 6, (step_id, local)
    assert all(key.startswith(("welcome", "warehouse/")) for *_, key in received)
    assert decide_next(book, lead, now).action == "done"
