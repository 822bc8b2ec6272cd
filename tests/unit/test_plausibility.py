"""The plausibility engine: each check with examples a user would notice, the rules
file, and the acceptance rates on the labelled set (tests/data/plausibility_labelled.jsonl)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from leadflow.domain.plausibility import (
    IMPLAUSIBLE,
    NEEDS_REVIEW,
    PLAUSIBLE,
    PlausibilityRules,
    Reason,
    Verdict,
    check,
    load_default_rules,
)

REPO = Path(__file__).resolve().parents[2]
LABELLED = REPO / "tests" / "data" / "plausibility_labelled.jsonl"

# A real person's submission; each test changes one thing.
BASE = {
    "firstName": "Katrin",
    "lastName": "Vogt",
    "email": "katrin.vogt@web.de",
    "phone": "+49 171 4829173",
    "street": "Leopoldstraße 112",
    "postalCode": "80802",
    "city": "München",
    "country": "DE",
}


def verdict_of(**changes) -> Verdict:
    submission = {**BASE, **changes}
    return check({k: v for k, v in submission.items() if v is not None})


def codes(**changes) -> set[str]:
    return set(verdict_of(**changes).codes)


def test_a_real_person_is_plausible():
    verdict = check(BASE)
    assert verdict.verdict == PLAUSIBLE, verdict.reasons
    assert verdict.reasons == []


# ------------------------------------------------------------------------------------------
# Completeness
# ------------------------------------------------------------------------------------------


def test_no_way_to_contact_is_implausible():
    verdict = verdict_of(email=None, phone=None)
    assert verdict.verdict == IMPLAUSIBLE
    assert "contact_missing" in verdict.codes


@pytest.mark.parametrize("phone", ["-", "keine", "n/a", " "])
def test_a_refused_phone_counts_as_no_phone(phone):
    assert verdict_of(phone=phone).verdict == PLAUSIBLE
    assert "contact_missing" in codes(phone=phone, email=None)


def test_email_or_phone_alone_is_enough():
    assert verdict_of(phone=None).verdict == PLAUSIBLE
    assert verdict_of(email=None).verdict == PLAUSIBLE


def test_one_of_two_names_goes_to_review():
    verdict = verdict_of(lastName="")
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.reasons[0].field == "lastName"


# ------------------------------------------------------------------------------------------
# Keyboard mash, filler, placeholders, fictional people
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, last",
    [("ABCD", "EFGH"), ("asdf", "asdf"), ("qwertz", "Meier"), ("Anna", "xxx"), ("aaaa", "Vogt"),
     ("sdfsdf", "Vogt"), ("Hjkl", "Fghj"), ("Katrin", "jkjkjk"), ("Lkjhgf", "Vogt"), ("Asdfjkl", "Vogt")],
)
def test_keyboard_mash_in_names_is_implausible(first, last):
    verdict = verdict_of(firstName=first, lastName=last)
    assert verdict.verdict == IMPLAUSIBLE
    assert {"keyboard_mash", "placeholder_value"} & set(verdict.codes)


@pytest.mark.parametrize("first, last", [("bWjKeLqzPx", "TrGhYpQmVn"), ("Xkqzvt", "Vogt"), ("Qzxkpt", "Vogt")])
def test_bot_strings_are_implausible(first, last):
    assert "gibberish" in codes(firstName=first, lastName=last)


@pytest.mark.parametrize(
    "first, last",
    [("Max", "Mustermann"), ("Erika", "Mustermann"), ("John", "Doe"), ("Jane", "Doe"), ("Test", "Test"),
     ("Vorname", "Nachname"), ("Hans", "Muster"), ("Mustermann", "Max"), ("Max", "Musterman"),
     ("Erika", "Musterfrau"), ("Otto", "Normalverbraucher"), ("Lorem", "Ipsum"), ("Dummy", "User")],
)
def test_placeholder_names_are_implausible(first, last):
    verdict = verdict_of(firstName=first, lastName=last)
    assert verdict.verdict == IMPLAUSIBLE, verdict.reasons
    assert {"placeholder_name", "placeholder_value"} & set(verdict.codes)


@pytest.mark.parametrize(
    "first, last",
    [("Alice", "im Wunderland"), ("Micky", "Maus"), ("Donald", "Duck"), ("Mickey", "Mouse"), ("Homer", "Simpson"),
     ("Harry", "Potter"), ("Rainer", "Zufall"), ("Donald Duck", "")],
)
def test_fictional_people_are_implausible(first, last):
    verdict = verdict_of(firstName=first, lastName=last)
    assert verdict.verdict == IMPLAUSIBLE
    assert "fictional_name" in verdict.codes


def test_a_celebrity_name_goes_to_review():
    assert verdict_of(firstName="Angela", lastName="Merkel").verdict == NEEDS_REVIEW


@pytest.mark.parametrize(
    "first, last",
    [("Li", "Na"), ("Siobhán", "O'Brien"), ("Sanne", "van der Berg"), ("José", "García-Núñez"), ("Zoë", "Lambert"),
     ("Nguyễn Văn", "An"), ("Åsa", "Öberg"), ("Tom", "Ng"), ("Chris", "McAllister"), ("Dr. Stefanie", "Braun"),
     ("Tingting", "Wang"), ("Jürgen", "Weiß"), ("Ayşe", "Yılmaz"), ("Michał", "Wójcik"), ("Ursula", "von der Heide"),
     ("伟", "王"), ("Иван", "Петров"), ("Donald", "Brooks"), ("Peter", "Pan-Weber"), ("Erika", "Mustermeyer"),
     ("Marie-Thérèse", "Nguyen-Huber"), ("Ji-woo", "Park"), ("Matteo", "D'Angelo"), ("John", "Smith III")],
)
def test_international_names_pass(first, last):
    verdict = verdict_of(firstName=first, lastName=last, email=None)  # katrin.vogt@ is not theirs
    assert verdict.verdict == PLAUSIBLE, verdict.reasons


@pytest.mark.parametrize("company", ["3M", "A&O Hotels", "IBM", "KPMG AG", "SAP SE", "Müller & Söhne KG",
                                     "Booking.com", "Testo SE & Co. KGaA", "Musterring International", "Vogt Bau GmbH"])
def test_real_companies_pass(company):
    assert verdict_of(company=company).verdict == PLAUSIBLE


@pytest.mark.parametrize("company", ["privat", "-", "n/a", "keine", "Firma", "Privatperson", "k.A."])
def test_filler_in_the_company_goes_to_review_with_the_field_cleared(company):
    verdict = verdict_of(company=company)
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.codes == ["company_filler"]
    assert [(s.field, s.suggested) for s in verdict.suggestions] == [("company", "")]


def test_a_private_person_without_company_is_plausible():
    assert verdict_of(company=None).verdict == PLAUSIBLE


@pytest.mark.parametrize("company", ["Katrin Vogt", "Vogt Katrin", "Katrin Vogt GmbH"])
def test_the_persons_own_name_as_company_goes_to_review(company):
    assert verdict_of(company=company).codes == ["company_is_name"]


@pytest.mark.parametrize("company", ["Musterfirma GmbH", "Test GmbH", "asdf", "qwertz AG", "ABCD", "Irgendwas GmbH",
                                     "Test AG", "Musterfirma", "Firma XY", "Testunternehmen", "Keine Ahnung GmbH",
                                     "Beispiel & Co. KG", "Egal GmbH"])
def test_placeholder_companies_are_implausible(company):
    assert verdict_of(company=company).verdict == IMPLAUSIBLE


@pytest.mark.parametrize("title", ["Geschäftsführer", "CEO", "Head of R&D", "IT-Leiter", "SVP Sales", "Dipl.-Ing.", "HR"])
def test_job_titles_pass(title):
    assert verdict_of(jobTitle=title).verdict == PLAUSIBLE


@pytest.mark.parametrize("first, last, code", [("MICHAEL", "SCHNEIDER", "name_all_caps"), ("Anna", "Anna", "name_repeated"),
                                               ("Herr", "Vogt", "name_salutation"), ("M.", "Vogt", "name_initial_only"),
                                               ("Thomas2", "Vogt", "name_digits")])
def test_odd_names_go_to_review(first, last, code):
    verdict = verdict_of(firstName=first, lastName=last)
    assert verdict.verdict == NEEDS_REVIEW
    assert code in verdict.codes


def test_numbers_as_names_are_implausible():
    assert "name_numeric" in codes(firstName="12345", lastName="67890")


# ------------------------------------------------------------------------------------------
# Address: city in country, postal codes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "city, country",
    [("München", "DE"), ("Munich", "DE"), ("Muenchen", "DE"), ("MÜNCHEN", "DE"), ("Neubiberg", "DE"),
     ("Frankfurt a.M.", "DE"), ("München-Pasing", "DE"), ("80331 München", "DE"), ("Halle (Saale)", "DE"),
     ("St. Pölten", "AT"), ("Wien", "AT"), ("Genf", "CH"), ("St. Gallen", "CH"), ("Biel/Bienne", "CH"),
     ("København", "DK"), ("Den Haag", "NL"), ("Hồ Chí Minh", "VN"), ("New York", "US"), ("東京", "JP")],
)
def test_cities_are_found_under_the_names_people_use(city, country):
    verdict = verdict_of(city=city, country=country, postalCode=None, phone=None)
    assert not [r for r in verdict.reasons if r.field == "city"], verdict.reasons


@pytest.mark.parametrize("city, country", [("London", "DE"), ("Paris", "DE"), ("Tokyo", "CH"), ("New York", "AT"),
                                           ("München", "AT"), ("Zürich", "DE")])
def test_a_big_city_of_another_country_is_implausible(city, country):
    verdict = verdict_of(city=city, country=country, postalCode=None, phone=None)
    assert verdict.verdict == IMPLAUSIBLE
    assert "city_country_mismatch" in verdict.codes


@pytest.mark.parametrize("city", ["Kleinostheimerdorf", "Rosenheim"])
def test_a_city_unknown_in_the_country_goes_to_review(city):
    verdict = verdict_of(city=city, country="AT", postalCode=None, phone=None)
    assert verdict.verdict == NEEDS_REVIEW
    assert "city_unknown_in_country" in verdict.codes


@pytest.mark.parametrize("city, meant, country", [("Stuttgard", "Stuttgart", "DE"), ("Muenchn", "München", "DE"),
                                                   ("Dusseldorff", "Düsseldorf", "DE"), ("Kölm", "Köln", "DE"),
                                                   ("Hamburh", "Hamburg", "DE"), ("Salzbrug", "Salzburg", "AT"),
                                                   ("Frankfrut am Main", "Frankfurt am Main", "DE")])
def test_a_near_miss_of_a_city_goes_to_review_with_the_real_spelling(city, meant, country):
    verdict = verdict_of(city=city, postalCode=None, country=country, phone=None)
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.codes == ["city_spelling"]
    assert [(s.field, s.current, s.suggested) for s in verdict.suggestions] == [("city", city, meant)]


@pytest.mark.parametrize("city", ["xxx", "asdf", "Musterstadt", "Entenhausen", "Test"])
def test_junk_cities_are_implausible(city):
    assert verdict_of(city=city, postalCode=None).verdict == IMPLAUSIBLE


@pytest.mark.parametrize(
    "postal, country",
    [("80331", "DE"), ("D-80331", "DE"), ("1010", "AT"), ("8001", "CH"), ("1015 CJ", "NL"), ("1015CJ", "NL"),
     ("SW1A 1AA", "GB"), ("sw1a 1aa", "GB"), ("10118", "US"), ("94105-1804", "US"), ("M5V 3L9", "CA"),
     ("00-026", "PL"), ("111 21", "SE"), ("1100-053", "PT"), ("131-0045", "JP"), ("D02 VF65", "IE")],
)
def test_postal_codes_of_each_country_pass(postal, country):
    verdict = check({"firstName": "Anna", "lastName": "Berg", "email": "anna.berg@gmail.com",
                     "postalCode": postal, "country": country})
    assert verdict.verdict == PLAUSIBLE, verdict.reasons


@pytest.mark.parametrize("postal, country", [("8033", "DE"), ("80331", "AT"), ("ABC 123", "GB"), ("CH-80010", "CH")])
def test_a_postal_code_of_the_wrong_shape_goes_to_review(postal, country):
    verdict = verdict_of(postalCode=postal, country=country, city=None, phone=None)
    assert verdict.verdict == NEEDS_REVIEW
    assert "postal_code_format" in verdict.codes


@pytest.mark.parametrize("postal", ["00000", "99999", "0000"])
def test_placeholder_postal_codes_are_implausible(postal):
    assert "postal_code_placeholder" in codes(postalCode=postal)


def test_an_unknown_country_code_goes_to_review():
    assert "country_unknown" in codes(country="XX")
    assert verdict_of(country="UK", city="London", postalCode="SW1A 1AA", phone="+44 20 7219 4272").verdict == PLAUSIBLE


# ------------------------------------------------------------------------------------------
# Phone
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["0000000", "123456789", "0123 456789", "+49 1111111111", "999999999",
                                   "+49 176 00000000", "12121212", "0815"])
def test_placeholder_phones_are_implausible(phone):
    verdict = verdict_of(phone=phone)
    assert verdict.verdict == IMPLAUSIBLE
    assert "phone_placeholder" in verdict.codes


@pytest.mark.parametrize("phone", ["+49 89 2441054", "089 2441054", "0171 4829173", "+49 (0)89 2441054", "0049 89 2441054",
                                   "0911/442211", "+4917612935678", "+49 30 2814567"])
def test_real_phone_formats_pass(phone):
    assert verdict_of(phone=phone).verdict == PLAUSIBLE


@pytest.mark.parametrize("phone", ["+4917612345678", "+49 30 1234567", "06 12 34 56 78", "+49 221 98765432"])
def test_a_number_counting_after_a_real_prefix_goes_to_review(phone):
    verdict = verdict_of(phone=phone)
    assert verdict.verdict == NEEDS_REVIEW
    assert "phone_sequence" in verdict.codes


@pytest.mark.parametrize("phone", ["030 1111111", "0171 2222222", "+43 1 7777777", "089 333333"])
def test_repeated_digits_after_a_real_prefix_are_implausible(phone):
    verdict = verdict_of(phone=phone, country="AT" if phone.startswith("+43") else "DE")
    assert verdict.verdict == IMPLAUSIBLE
    assert "phone_placeholder" in verdict.codes


@pytest.mark.parametrize("phone, country", [
    ("+1 212 555 0123", "US"), ("(415) 555-0199", "US"), ("+1 303 555 0182", None),  # NANP 555-01xx
    ("07700 900123", "GB"), ("020 7946 0991", "GB"), ("0161 496 0000", "GB"), ("01632 960555", "GB"),
    ("+44 113 496 0777", "DE"), ("028 9649 6012", "GB"), ("+61 491 570 156", "AU"), ("02 5550 1234", "AU"),
])
def test_numbers_reserved_for_fiction_are_implausible(phone, country):
    verdict = verdict_of(phone=phone, country=country, city=None, postalCode=None, street=None)
    assert verdict.verdict == IMPLAUSIBLE
    assert "phone_fictional" in verdict.codes


@pytest.mark.parametrize("phone, country", [("+1 212 555 0234", "US"), ("+1 212 556 0123", "US"),
                                            ("07700 901234", "GB"), ("020 7946 1234", "GB")])
def test_numbers_next_to_the_fiction_ranges_are_real(phone, country):
    assert "phone_fictional" not in codes(phone=phone, country=country, city=None, postalCode=None, street=None)


def test_a_phone_from_another_country_goes_to_review():
    verdict = verdict_of(phone="+43 664 3928471")
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.codes == ["phone_country_mismatch"]


@pytest.mark.parametrize("phone", ["0171 23", "089", "+49 30 9"])
def test_an_impossible_phone_goes_to_review(phone):
    assert "phone_invalid" in codes(phone=phone)


def test_a_national_number_without_country_may_be_from_a_neighbour():
    assert check({"firstName": "Reto", "lastName": "Meier", "phone": "079 318 44 71"}).verdict == PLAUSIBLE


# ------------------------------------------------------------------------------------------
# Email
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["katrin.vogt@gmail.com", "k.vogt@gmx.de", "kv@web.de", "katrin@t-online.de",
                                   "k.vogt@3m.com", "katrin.vogt@hotmail.de", "KATRIN.VOGT@GMX.NET", "jörg@müller.de",
                                   "katrin+news@posteo.de", "k.vogt@aok.de", "k.vogt@aon.at"])
def test_private_free_mail_and_company_addresses_pass(email):
    assert verdict_of(email=email).verdict == PLAUSIBLE


@pytest.mark.parametrize("email", ["nomail", "@@@", "katrin@", "katrin.vogt@web", "x@y.z", "katrin vogt"])
def test_invalid_addresses_are_implausible(email):
    assert "email_invalid" in codes(email=email, phone=None)


def test_a_refused_email_counts_as_no_email():
    assert codes(email="keine", phone=None) == {"contact_missing"}


@pytest.mark.parametrize("email, fixed", [("katrin.vogt@gmail,com", "gmail.com"), ("katrin.vogt@gmx..de", "gmx.de"),
                                          ("katrin vogt@web.de", "katrinvogt@web.de")])
def test_near_misses_go_to_review_with_the_fix(email, fixed):
    verdict = verdict_of(email=email)
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.codes == ["email_malformed"]
    assert fixed in verdict.reasons[0].message


@pytest.mark.parametrize("email", ["k@mailinator.com", "k@guerrillamail.com", "k@trashmail.de", "k@yopmail.com",
                                   "k@wegwerfmail.de", "k@inbox.mailinator.com"])
def test_disposable_domains_are_implausible_also_as_subdomains(email):
    assert "email_disposable" in codes(email=email)


@pytest.mark.parametrize("email", ["test@test.de", "k@example.com", "k@example.org", "k@domain.com", "k@foo.test",
                                   "k@firma.invalid", "k@mustermann.de"])
def test_example_domains_are_implausible(email):
    assert "email_placeholder_domain" in codes(email=email)


@pytest.mark.parametrize("email", ["test@gmail.com", "test123@web.de", "asdf@gmx.de", "noreply@firma-vogt.de",
                                   "max.mustermann@web.de", "john.doe@gmail.com", "sdfsdf@gmail.com"])
def test_test_inboxes_are_implausible(email):
    assert verdict_of(email=email).verdict == IMPLAUSIBLE


@pytest.mark.parametrize(
    "email, meant",
    [("k@gmial.com", "gmail.com"), ("k@gmx.dee", "gmx.de"), ("k@web.dee", "web.de"), ("k@hotmial.com", "hotmail.com"),
     ("k@gmail.con", "gmail.com"), ("k@gmail.de", "gmail.com"), ("k@yahooo.de", "yahoo.de"), ("k@wbe.de", "web.de"),
     ("k@t-onlien.de", "t-online.de"), ("k@freenet.d", "freenet.de"), ("k@gmx.ent", "gmx.net"), ("k@firma.dee", "firma.de")],
)
def test_typos_of_big_providers_go_to_review_with_the_fix(email, meant):
    verdict = verdict_of(email=email)
    assert verdict.verdict == NEEDS_REVIEW, verdict.reasons
    assert verdict.codes == ["email_domain_typo"]
    assert meant in verdict.reasons[0].message


# ------------------------------------------------------------------------------------------
# Script, markup, SQL, links, lengths, spam
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, code",
    [("firstName", "<script>alert(1)</script>", "markup"), ("lastName", "<img src=x onerror=alert(1)>", "markup"),
     ("message", "<a href='http://x.example'>click</a>", "markup"), ("firstName", "Robert'); DROP TABLE leads;--", "sql_injection"),
     ("lastName", "' OR '1'='1", "sql_injection"), ("message", "1' UNION SELECT password FROM users--", "sql_injection"),
     ("company", "${jndi:ldap://198.51.100.7/a}", "code_injection"), ("firstName", "{{7*7}}", "code_injection")],
)
def test_script_markup_and_sql_are_implausible(field, value, code):
    verdict = verdict_of(**{field: value})
    assert verdict.verdict == IMPLAUSIBLE
    assert code in verdict.codes


@pytest.mark.parametrize("message", ["Bitte löschen Sie mich aus Ihrem Verteiler.", "Please delete from your list my old address.",
                                     "Preis für 3 Geräte? Siehe https://firma-vogt.de/anfrage", "O'Brien & Söhne <3",
                                     "We need more leads for our sales team, cheap plans welcome."])
def test_ordinary_messages_pass(message):
    assert verdict_of(message=message).verdict == PLAUSIBLE


@pytest.mark.parametrize("field, value", [("firstName", "Cheap Viagra http://pills.example.ru"),
                                          ("lastName", "www.best-seo.com"), ("firstName", "Visit bit.ly/3xYz"),
                                          ("city", "https://spam.example")])
def test_links_in_name_fields_are_implausible(field, value):
    assert "url_in_field" in codes(**{field: value})


def test_contact_form_spam_is_implausible():
    message = "Hi! Your website is not ranking on Google. We offer SEO services: https://seo-rank.top"
    assert "message_spam" in codes(message=message)


def test_absurd_lengths():
    assert "absurd_length" in codes(firstName="A" * 120)
    assert verdict_of(lastName="Bergmann-Schulze-Großkopf-Überlingen-Pfeiffer").verdict == NEEDS_REVIEW
    assert "name_is_sentence" in codes(firstName="Ich möchte keine Werbung bitte löschen Sie sofort meine Daten")


# ------------------------------------------------------------------------------------------
# Verdict policy, rules file, odd input, import cost
# ------------------------------------------------------------------------------------------


def test_three_review_reasons_together_are_implausible():
    verdict = verdict_of(firstName="MICHAEL", lastName="MICHAEL", email="m@gmial.com")
    assert verdict.verdict == IMPLAUSIBLE
    assert all(reason.severity == "review" for reason in verdict.reasons)


def test_verdict_as_dict():
    data = verdict_of(email="k@mailinator.com").to_dict()
    assert data["verdict"] == IMPLAUSIBLE
    assert data["reasons"][0] == {"code": "email_disposable", "field": "email", "severity": "reject",
                                  "message": "mailinator.com is a throw-away (disposable) mail provider"}
    assert data["rulesVersion"] == load_default_rules().version
    assert isinstance(Reason("x", "email", "m").to_dict(), dict)


def test_the_rules_file_is_versioned_and_every_code_has_a_severity():
    rules = load_default_rules()
    assert rules.version
    source = "".join(p.read_text() for p in (REPO / "leadflow/domain/plausibility").glob("*.py"))
    import re

    used = set(re.findall(r'add\(\s*"([a-z_]+)"', source)) | set(re.findall(r'add\(\s*kind', source) and [])
    assert used, "no reason codes found"
    assert used <= set(rules.severity), sorted(used - set(rules.severity))


def test_the_severity_policy_comes_from_the_rules():
    document = _default_document()
    document["policy"]["severity"]["email_domain_typo"] = "reject"
    strict = PlausibilityRules.from_dict(document)
    assert check({**BASE, "email": "k@gmial.com"}, strict).verdict == IMPLAUSIBLE
    document["policy"]["severity"]["email_domain_typo"] = "info"
    relaxed = PlausibilityRules.from_dict(document)
    assert check({**BASE, "email": "k@gmial.com"}, relaxed).verdict == PLAUSIBLE


def test_lists_come_from_the_rules():
    document = _default_document()
    document["placeholders"]["fictional_names"].append("Biene Hummel")
    rules = PlausibilityRules.from_dict(document)
    bee = {**BASE, "firstName": "Biene", "lastName": "Hummel", "email": "biene.hummel@web.de"}
    assert check(bee, rules).verdict == IMPLAUSIBLE
    assert check(bee).verdict == PLAUSIBLE


@pytest.mark.parametrize(
    "document, message",
    [({}, "version"), ({"version": 1, "policy": {"severity": {"x": "maybe"}}}, "policy.severity.x"),
     ({"version": 1, "placeholders": {"cities": "Musterstadt"}}, "placeholders.cities"),
     ({"version": 1, "limits": {"firstName": 40}}, "limits.firstName"),
     ({"version": 1, "postal_codes": {"overrides": {"DE": "("}}}, "postal_codes.overrides.DE")],
)
def test_a_bad_rules_document_is_refused_with_the_key(document, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        PlausibilityRules.from_dict(document)


def test_rules_are_found_through_leadflow_config_dir(tmp_path, monkeypatch):
    shipped = (REPO / "config" / "plausibility.yaml").read_text()
    (tmp_path / "plausibility.yaml").write_text(re.sub(r"(?m)^version: \d+", "version: 99", shipped, count=1))
    monkeypatch.setenv("LEADFLOW_CONFIG_DIR", str(tmp_path))
    load_default_rules.cache_clear()
    try:
        assert load_default_rules().version == "99"
    finally:
        monkeypatch.delenv("LEADFLOW_CONFIG_DIR")
        load_default_rules.cache_clear()
    assert load_default_rules().version != "99"


@pytest.mark.parametrize("submission", [{}, {"firstName": 123, "email": ["a"], "phone": 4989, "interests": "x"},
                                        {"consent": {"purposes": None}}, {"email": None, "city": {"a": 1}}])
def test_odd_input_never_raises(submission):
    assert check(submission).verdict in (PLAUSIBLE, NEEDS_REVIEW, IMPLAUSIBLE)


def test_import_is_lean_and_never_loads_the_phone_geocoder():
    code = (
        "import sys, leadflow.domain.plausibility as p\n"
        "heavy = {'email_validator', 'yaml', 'boto3', 'pynamodb', 'phonenumbers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "p.check({'firstName': 'Anna', 'lastName': 'Berg', 'email': 'a.berg@gmx.de', 'phone': '+49 89 2441054',"
        " 'city': 'Köln', 'country': 'DE'})\n"
        "bad = {m for m in sys.modules if m.startswith(('phonenumbers.geocoder', 'phonenumbers.carrier',"
        " 'phonenumbers.timezone', 'boto3', 'botocore'))}\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def _default_document() -> dict:
    import yaml

    return yaml.safe_load((REPO / "config" / "plausibility.yaml").read_text())


# ------------------------------------------------------------------------------------------
# Acceptance rates on the labelled set, and the "market leader" baseline
# ------------------------------------------------------------------------------------------


def baseline_verdict(submission: dict) -> str:
    """What an off-the-shelf validator does: email syntax, disposable list, phone validity."""
    import phonenumbers
    from email_validator import EmailNotValidError, validate_email

    from leadflow.domain.plausibility.contact import _disposable_blocklist

    email, phone = (submission.get("email") or "").strip(), (submission.get("phone") or "").strip()
    if email:
        try:
            domain = validate_email(email, check_deliverability=False).ascii_domain.lower()
        except EmailNotValidError:
            return IMPLAUSIBLE
        if any(".".join(domain.split(".")[i:]) in _disposable_blocklist() for i in range(domain.count("."))):
            return IMPLAUSIBLE
    if phone:
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, submission.get("country") or "DE"))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            return IMPLAUSIBLE
    return PLAUSIBLE


def rates(pairs: list[tuple[str, str]]) -> dict[str, float]:
    table = Counter(pairs)

    def share(label: str, verdicts: tuple[str, ...]) -> float:
        total = sum(n for (lab, _), n in table.items() if lab == label)
        return sum(table[(label, v)] for v in verdicts) / total

    return {
        "junk flagged": share("junk", (NEEDS_REVIEW, IMPLAUSIBLE)),
        "junk implausible": share("junk", (IMPLAUSIBLE,)),
        "genuine rejected": share("genuine", (IMPLAUSIBLE,)),
        "genuine to review": share("genuine", (NEEDS_REVIEW,)),
        "suspicious flagged": share("suspicious", (NEEDS_REVIEW, IMPLAUSIBLE)),
    }


def _labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_set_is_big_and_diverse():
    rows = _labelled()
    labels = Counter(row["label"] for row in rows)
    countries = Counter(row["input"].get("country") for row in rows if row["label"] == "genuine")
    assert len(rows) >= 300 and labels["genuine"] >= 150 and labels["junk"] >= 80 and labels["suspicious"] >= 40
    assert len(countries) >= 25 and countries["DE"] >= 50
    assert len({row["id"] for row in rows}) == len(rows)


def test_acceptance_rates_on_the_labelled_set():
    rows = _labelled()
    ours = rates([(row["label"], check(row["input"]).verdict) for row in rows])
    baseline = rates([(row["label"], baseline_verdict(row["input"])) for row in rows])
    print(f"\n{'':22}{'leadflow':>10}{'baseline':>10}   (baseline: email syntax + disposable list + phone validity)")
    for name in ours:
        print(f"{name:22}{ours[name]:>10.1%}{baseline[name]:>10.1%}")
    assert ours["junk flagged"] >= 0.95
    assert ours["junk implausible"] >= 0.80
    assert ours["genuine rejected"] <= 0.01
    assert ours["genuine to review"] <= 0.05
    assert ours["suspicious flagged"] >= 0.70


# ------------------------------------------------------------------------------------------
# Second pass (issue 13): soft anomalies a reviewer wants to see, with suggestions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["info@vogt-bau.de", "kontakt@praxis-vogt.de", "vertrieb.nord@vogt-bau.de",
                                   "office@vogt.at", "sales@vogt.co.uk", "hello@studio-vogt.com", "buero@vogt-bau.de"])
def test_a_role_mailbox_goes_to_review(email):
    verdict = verdict_of(email=email)
    assert verdict.verdict == NEEDS_REVIEW
    assert verdict.codes == ["email_role_account"]


@pytest.mark.parametrize("first, last, email", [
    ("Jan", "Müller", "j.mueller@web.de"), ("Jan", "Müller", "jm@gmx.de"), ("Jan", "Müller", "mueller.j@t-online.de"),
    ("Jan", "Müller", "jmueller@gmail.com"), ("Jan", "Müller", "muller.jan84@gmail.com"),
    ("Hans", "Müller-Lüdenscheidt", "hml@t-online.de"), ("Hans", "Müller-Lüdenscheidt", "h.luedenscheidt@web.de"),
    ("Ursula", "von der Heide", "u.vonderheide@gmx.de"), ("Ursula", "von der Heide", "heide.u@web.de"),
    ("Alexander", "Schulz", "alex.schulz@gmail.com"), ("Christina", "Brandl", "chris.b@outlook.com"),
    ("Ayşe", "Yılmaz", "ayse.yilmaz@hotmail.com"), ("Mehmet", "Öztürk", "m.oeztuerk@web.de"),
    ("Nguyễn Văn", "An", "an.nguyenvan@gmail.com"), ("Li", "Na", "lina88@qq.com"), ("Tom", "Ng", "tng@btinternet.com"),
    ("Omar", "Al-Sayed", "omar.alsayed@outlook.com"), ("Mohammed", "Haddad", "mohamed.haddad@gmail.com"),
    ("Katarzyna", "Wiśniewska", "k.wisniewska@wp.pl"), ("Zoë", "Lambert", "zoe@lambert-design.fr"),
    ("Jan", "Müller", "sonnenschein84@web.de"), ("Jan", "Müller", "info.mueller@gmail.com"),
])
def test_addresses_people_build_from_their_own_name_pass(first, last, email):
    verdict = check({"firstName": first, "lastName": last, "email": email})
    assert verdict.verdict == PLAUSIBLE, verdict.reasons


@pytest.mark.parametrize("email", ["anna.schmidt@gmail.com", "peter_lange@web.de"])
def test_an_address_with_another_persons_name_goes_to_review(email):
    assert codes(email=email) == {"email_other_person"}


@pytest.mark.parametrize("email", ["wqpeozxk@gmail.com", "h2b1w0m7@gmx.de", "xk7qp2m9@outlook.com",
                                   "jkdhfgtz@web.de"])
def test_a_random_address_goes_to_review(email):
    assert codes(email=email) == {"email_random"}


@pytest.mark.parametrize("first, last, code, fixed", [
    ("katrin", "vogt", "name_all_lower", ("Katrin", "Vogt")),
    ("KATRIN", "VOGT", "name_all_caps", ("Katrin", "Vogt")),
    ("ANNEGRET", "MÜLLER-LÜDENSCHEIDT", "name_all_caps", ("Annegret", "Müller-Lüdenscheidt")),
    ("ursula", "von der heide", "name_all_lower", ("Ursula", "von der Heide")),
    ("AN", "NG", "name_all_caps", ("An", "Ng")),
])
def test_names_in_one_case_go_to_review_with_the_casing_fixed(first, last, code, fixed):
    verdict = verdict_of(firstName=first, lastName=last, email=None)
    assert verdict.verdict == NEEDS_REVIEW and verdict.codes == [code]
    assert tuple(s.suggested for s in verdict.suggestions) == fixed


def test_names_in_their_own_script_or_with_lower_particles_are_not_one_case():
    assert verdict_of(firstName="伟", lastName="王", email=None).verdict == PLAUSIBLE
    assert verdict_of(firstName="Ilse", lastName="ter Horst", email=None).verdict == PLAUSIBLE


@pytest.mark.parametrize("first, last, suggested", [
    ("Katrin Vogt", "Vogt", {"firstName": "Katrin"}),
    ("", "Vogt, Katrin", {"firstName": "Katrin", "lastName": "Vogt"}),
])
def test_a_whole_name_in_one_field_goes_to_review_with_the_split(first, last, suggested):
    verdict = verdict_of(firstName=first, lastName=last)
    assert verdict.verdict == NEEDS_REVIEW and "name_combined" in verdict.codes
    assert {s.field: s.suggested for s in verdict.suggestions} == suggested


@pytest.mark.parametrize("first, last", [("K.", "Vogt"), ("K. M.", "Vogt"), ("K.", "V.")])
def test_initials_only_go_to_review(first, last):
    verdict = verdict_of(firstName=first, lastName=last, email="kv@web.de")
    assert verdict.verdict == NEEDS_REVIEW and "name_initial_only" in verdict.codes


def test_a_team_as_the_name_goes_to_review():
    assert "name_is_role" in codes(firstName="Info", lastName="Team", email="info@vogt-bau.de")


@pytest.mark.parametrize("message", ["test", "hallo", "Hallo!", "asdf", ".", "-", "?", "ok danke", "hi test", "xxxx"])
def test_a_message_that_says_nothing_goes_to_review(message):
    verdict = verdict_of(message=message)
    assert verdict.verdict == NEEDS_REVIEW and verdict.codes == ["placeholder_message"]


@pytest.mark.parametrize("message", ["Interesse", "Rückruf bitte", "Preise?", "Demo am Montag", "Angebot für 20 Stück"])
def test_short_messages_that_say_something_pass(message):
    assert verdict_of(message=message).verdict == PLAUSIBLE


def test_a_big_city_one_typo_from_a_small_namesake_is_suggested():
    """Hamburh is not in GeoNames, but a typo can also hit a real village: Frankfrut is none, Hambrug neither."""
    verdict = verdict_of(city="Hambrug", postalCode=None)
    assert [(s.field, s.suggested) for s in verdict.suggestions] == [("city", "Hamburg")]


def test_a_postal_code_of_another_region_goes_to_review():
    verdict = verdict_of(postalCode="80331", city="Hamburg")
    assert verdict.verdict == NEEDS_REVIEW and verdict.codes == ["postal_code_city_mismatch"]


def test_the_phone_in_international_form_is_offered_when_a_person_looks_anyway():
    verdict = verdict_of(phone="0171 4829173", email="k.vogt@gmial.com")
    assert ("phone", "0171 4829173", "+49 171 4829173") in [(s.field, s.current, s.suggested)
                                                              for s in verdict.suggestions]
    assert verdict_of(phone="0171 4829173").reasons == []  # a plausible lead gets no suggestion noise


def test_suggestions_travel_in_the_verdict_dict():
    reasons = verdict_of(email="katrin.vogt@gmial.com").to_dict()["reasons"]
    assert reasons == [{"code": "email_domain_typo", "field": "email", "severity": "review",
                        "message": "gmial.com looks like a typo of gmail.com",
                        "suggestions": [{"id": "email_domain_typo.email", "field": "email",
                                         "current": "katrin.vogt@gmial.com", "suggested": "katrin.vogt@gmail.com"}]}]
    malformed = verdict_of(email="katrin.vogt@gmail,con")
    assert [s.suggested for s in malformed.suggestions] == ["katrin.vogt@gmail.com"]


def test_the_second_pass_of_the_labelled_set_meets_the_goals_on_its_own():
    rows = [row for row in _labelled() if row.get("pass") == 2]
    assert len(rows) >= 200
    ours = rates([(row["label"], check(row["input"]).verdict) for row in rows])
    print("\nsecond pass only:", {k: f"{v:.1%}" for k, v in ours.items()})
    assert ours["junk flagged"] >= 0.95 and ours["junk implausible"] >= 0.80
    assert ours["genuine rejected"] <= 0.01 and ours["genuine to review"] <= 0.05
    assert ours["suspicious flagged"] >= 0.70


def test_the_docs_list_every_rule_with_its_verdict():
    """docs/plausibility.md has one table row per reason code, with the severity the config gives it."""
    doc = (REPO / "docs" / "plausibility.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_]+)`(?: ✎)? \| (reject|review|info) \|", doc, flags=re.MULTILINE))
    assert rows == dict(_default_document()["policy"]["severity"])
