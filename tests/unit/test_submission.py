"""The form submission's rules (POST /leads): each broken rule names the field as the client sent
it, the rule and a message; what passes is stripped and normalised. Plain Python, no pydantic:
the expected errors are the ones the pydantic model gave before (the same wording as every other
input of the product)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leadflow.domain.submission import InvalidSubmission, LeadSubmission, parse_submission


def errors(data) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidSubmission) as err:
        parse_submission(data)
    return [(e.field, e.rule, e.message) for e in err.value.errors]


@pytest.mark.parametrize(("data", "expected"), [
    ({"firstName": "x\r\n" + "y" * 200}, [("firstName", "max_length", "String should have at most 100 characters")]),
    ({"lastName": "A\r\nBcc: x@y.z"}, [("lastName", "no_line_breaks", "must not contain line breaks")]),
    ({"firstName": 5}, [("firstName", "type_string", "Input should be a valid string")]),
    ({"email": ["a"]}, [("email", "type_string", "Input should be a valid string")]),
    ({"country": "Germany"}, [("country", "format", "must be an ISO 3166-1 alpha-2 country code such as DE, AT, CH")]),
    ({"interests": "abc"}, [("interests", "type_list", "Input should be a valid list")]),
    ({"interests": None}, [("interests", "type_list", "Input should be a valid list")]),
    ({"interests": ["a"] * 21}, [("interests", "max_items", "List should have at most 20 items after validation, not 21")]),
    ({"interests": ["a", 5, " b ", "x" * 65]}, [("interests[1]", "type_string", "Input should be a valid string"),
                                                 ("interests[3]", "max_length", "String should have at most 64 characters")]),
    ({"interests": [" "]}, [("interests[0]", "min_length", "String should have at least 1 character")]),
    ({"message": "x" * 5001}, [("message", "max_length", "String should have at most 5000 characters")]),
    ({"idempotencyKey": "abc"}, [("idempotencyKey", "format",
                                  "must be 8 to 128 characters of letters, digits, '_', '-', '.', ':'")]),
    ({"visitorId": "abc"}, [("visitorId", "id_format", "must be 8 to 128 characters: letters, digits, _ . : -")]),
    ({"language": "fr"}, [("language", "one_of", "must be de or en")]),
    ({"preferredChannel": "fax"}, [("preferredChannel", "literal_error", "Input should be 'email', 'phone' or 'postal'")]),
    ({"ageGroup": "61"}, [("ageGroup", "literal_error",
                           "Input should be 'under-20', '20-30', '31-44', '45-59' or '60+'")]),
    ({"consent": "yes"}, [("consent", "type_object", "Input should be a valid dictionary or instance of Consent")]),
    ({"consent": {}}, [("consent.textVersion", "required", "Field required")]),
    ({"consent": {"purposes": ["x", "email_marketing"], "textVersion": "  ", "fooBar": 1}},
     [("consent.purposes", "format", "unknown purpose 'x'; allowed: email_marketing, phone, post, tracking"),
      ("consent.textVersion", "min_length", "String should have at least 1 character"),
      ("consent.fooBar", "unknown_field", "Extra inputs are not permitted")]),
    ({"consent": {"purposes": ["phone"] * 5, "textVersion": 5}},
     [("consent.purposes", "max_items", "List should have at most 4 items after validation, not 5"),
      ("consent.textVersion", "type_string", "Input should be a valid string")]),
    ({"consent": {"purposes": [5], "textVersion": "v1"}},
     [("consent.purposes[0]", "type_string", "Input should be a valid string")]),
    ({"firstName": True, "interests": ["a"] * 21},  # every broken rule, in the order of the fields
     [("firstName", "type_string", "Input should be a valid string"),
      ("interests", "max_items", "List should have at most 20 items after validation, not 21")]),
    ([1], [("body", "type_object", "Input should be a valid dictionary or instance of LeadSubmission")]),
])
def test_a_broken_rule_names_the_field_the_rule_and_why(data, expected):
    assert errors(data) == expected


def test_what_passes_is_stripped_and_normalised():
    s = parse_submission({"firstName": " Lena\xa0", "first_name": "ignored", "country": " de ", "email": "",
                          "interests": ["Lager", " Lager "], "idempotencyKey": " form-123456 ", "unknown": 1,
                          "consent": {"purposes": ["phone", "email_marketing", "phone"], "text_version": " v1 "},
                          "language": " en ", "preferredChannel": "email", "message": " a\nb "})
    assert (s.first_name, s.country, s.email, s.interests, s.idempotency_key, s.language, s.message) == (
        "Lena", "DE", None, ["Lager", "Lager"], "form-123456", "en", "a\nb")
    assert (s.consent.purposes, s.consent.text_version) == (["email_marketing", "phone"], "v1")
    # \x1c-\x1f are not whitespace to the rule (str.strip() would take them)
    assert parse_submission({"city": "\x1cBonn"}).city == "\x1cBonn"


def test_the_same_form_has_the_same_digest_and_the_key_does_not_count():
    form = {"firstName": "Lena", "email": "lena@vogel.de", "consent": {"purposes": ["phone"], "textVersion": "v1"}}
    first = parse_submission({**form, "idempotencyKey": "form-123456"})
    assert first.digest() == parse_submission({**form, "firstName": " Lena "}).digest()
    assert first.digest() != parse_submission({**form, "firstName": "Lea"}).digest()
    # the digest is stored in form markers: it is the one the pydantic model computed
    assert LeadSubmission(first_name="Anna").digest() == (
        "5f9fb79dbc94e589a163b5d6c763a619ec07e0aac128c114a3a55b31ddc84ae7")
    assert parse_submission({"firstName": "Anna", "country": "de", "interests": ["b", "a"], "consent": {
        "purposes": ["phone", "email_marketing"], "textVersion": "v1"}}).digest() == (
        "ab261f04208fbf89a099524195b839dc47d87965d385285705cd907cc5906e5b")


def test_parsing_a_submission_does_not_import_pydantic():
    # the capture function imports this module at its cold start (docs/benchmarks.md)
    code = ("import sys; from leadflow.domain.submission import parse_submission; "
            "parse_submission({'firstName': 'Lena', 'consent': {'textVersion': 'v1'}}); "
            "assert 'pydantic' not in sys.modules, 'pydantic imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
