"""The consent ledger and the signed link tokens: what a data protection officer would check."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from leadflow.domain.consent import (
    ConsentError,
    ConsentExpired,
    ConsentLedger,
    ConsentRecord,
    ConsentStatus,
    ConsentTexts,
    ConsentWithdrawn,
    Purpose,
    TokenExpired,
    TokenMalformed,
    TokenTampered,
    TokenWrongPurpose,
    UnknownConsentText,
    confirm,
    doi_token,
    expire_if_due,
    is_single_use,
    mark_doi_sent,
    new_consent,
    nonce_marker,
    record_consents,
    sign_token,
    verify_token,
    withdraw,
)
from leadflow.domain.errors import DomainError
from leadflow.domain.submission import CONSENT_PURPOSES

CONFIG = Path(__file__).resolve().parents[2] / "config" / "consent_texts.yaml"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SECRET = b"s" * 32
OTHER_SECRET = b"o" * 32


@pytest.fixture(scope="module")
def texts() -> ConsentTexts:
    return ConsentTexts.from_dict(yaml.safe_load(CONFIG.read_text()))


def email_consent(now: datetime = NOW) -> ConsentRecord:
    return new_consent("L1", "email_marketing", text_version="v1", text="Ja, ich möchte E-Mails.",
                       language="de", form_id="contact-de", now=now, doi_expiry_days=7)


# --------------------------------------------------------------------------- texts


def test_the_ledger_knows_every_purpose_the_form_accepts():
    assert {p.value for p in Purpose} == set(CONSENT_PURPOSES)


# If this fails, someone edited a published consent text: restore it and add v2 instead.
V1_HASHES = {
    ("email_marketing", "de"): "77f078f40f9daa41705cb6ba7506ce799544f292b23586942459a9fda971a48b",
    ("email_marketing", "en"): "0ecd37d9fce7a08116a053544f63d4c0da2349612d2f37a38d1191fca28a116d",
    ("phone", "de"): "803b75b330a898f12e7ea320cb10e4ab29ab13e5bc0aa06116a31c8fd4f01ec6",
    ("phone", "en"): "0ed52af6ac12757e8b9a84021d885d3ec7ad29604216c5eee610c6ec68fea07c",
    ("post", "de"): "7035812b9877042bafff57027993dab9f78f28a81b293350a1c6bc33f1a7a510",
    ("post", "en"): "f214ae00beb8af7ddcbcdb14ccc1222272ab1c881c2a58f157100d5cce640d26",
    ("tracking", "de"): "c7abfefb73ceb23cf0116a948ebe9becfe1ba48193b7fe1be4c1b4f3ed9c6246",
    ("tracking", "en"): "d7028972607b6d575b2ece0ff1ff5fff7e24f65f1551f5c5b3ddb2c9dcb3501f",
}


def test_published_consent_texts_never_change(texts):
    for (purpose, language), expected in V1_HASHES.items():
        assert texts.text("v1", purpose, language).hash == expected


def test_every_version_has_every_purpose_in_german_and_english(texts):
    for version in texts.versions.values():
        assert set(version.purposes) == set(Purpose)
        for purpose in version.purposes.values():
            assert purpose.de.strip() and purpose.en.strip()
    assert texts.current in texts.versions


def test_each_record_stores_the_hash_of_the_exact_text_shown(texts):
    records = record_consents("L1", ["email_marketing", "phone", "post"], text_version="v1", texts=texts,
                              language="de-DE", form_id="contact-de", now=NOW, doi_expiry_days=7)
    assert [r.purpose for r in records] == [Purpose.EMAIL_MARKETING, Purpose.PHONE, Purpose.POST]
    for record in records:
        shown = texts.text("v1", record.purpose, "de").text
        assert record.text_hash == hashlib.sha256(shown.encode("utf-8")).hexdigest()
        assert (record.text_version, record.language, record.form_id, record.given_at) == \
            ("v1", "de", "contact-de", NOW)


def test_an_unknown_text_version_is_no_documented_consent(texts):
    with pytest.raises(UnknownConsentText) as err:
        record_consents("L1", ["email_marketing"], text_version="v9", texts=texts, language="de",
                        form_id=None, now=NOW)
    assert err.value.field == "consent.textVersion" and "v1" in err.value.message
    assert isinstance(err.value, DomainError)


def test_other_languages_are_shown_the_english_text(texts):
    assert texts.text("v1", "phone", "fr").language == "en"


# --------------------------------------------------------------------------- lifecycle of a record


def test_email_marketing_waits_for_double_opt_in_phone_and_post_count_at_once():
    email = email_consent()
    assert email.status is ConsentStatus.PENDING and not email.is_effective
    assert email.expires_at == NOW + timedelta(days=7) and email.confirmed_at is None
    phone = new_consent("L1", "phone", text_version="v1", text="Anrufe ok.", language="de", form_id=None, now=NOW)
    assert phone.status is ConsentStatus.CONFIRMED and phone.confirmed_at == NOW and phone.expires_at is None


def test_confirming_in_time_documents_when_and_how():
    sent = mark_doi_sent(email_consent(), NOW + timedelta(minutes=1))
    confirmed = confirm(sent, NOW + timedelta(hours=2), evidence={"user_agent": "Firefox"})
    assert confirmed.status is ConsentStatus.CONFIRMED
    assert (confirmed.doi_sent_at, confirmed.confirmed_at) == (NOW + timedelta(minutes=1), NOW + timedelta(hours=2))
    assert confirmed.evidence == {"user_agent": "Firefox"}
    assert confirm(confirmed, NOW + timedelta(days=1)) == confirmed  # a second click changes nothing


def test_confirming_an_expired_consent_is_refused():
    late = NOW + timedelta(days=7)
    with pytest.raises(ConsentExpired) as err:
        confirm(email_consent(), late)
    assert err.value.code == "consent_expired"
    expired = expire_if_due(email_consent(), late)
    assert expired.status is ConsentStatus.EXPIRED
    with pytest.raises(ConsentExpired):
        confirm(expired, NOW)


def test_a_withdrawn_consent_cannot_be_confirmed_and_stays_withdrawn():
    withdrawn = withdraw(email_consent(), NOW + timedelta(hours=1), via="unsubscribe_link")
    assert (withdrawn.status, withdrawn.withdrawn_at, withdrawn.withdrawn_via) == \
        (ConsentStatus.WITHDRAWN, NOW + timedelta(hours=1), "unsubscribe_link")
    with pytest.raises(ConsentWithdrawn):
        confirm(withdrawn, NOW + timedelta(hours=2))
    assert withdraw(withdrawn, NOW + timedelta(days=3)).withdrawn_at == NOW + timedelta(hours=1)
    with pytest.raises(ConsentError):
        mark_doi_sent(withdrawn, NOW)


def test_expiry_only_touches_pending_records_past_their_time():
    pending = email_consent()
    assert expire_if_due(pending, NOW + timedelta(days=6, hours=23)) is pending
    confirmed = confirm(pending, NOW)
    assert expire_if_due(confirmed, NOW + timedelta(days=30)) is confirmed


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        confirm(email_consent(), datetime(2026, 11, 22, 10, 0))


def test_records_round_trip_for_storage():
    record = confirm(mark_doi_sent(email_consent(), NOW), NOW + timedelta(hours=1), evidence={"ip": "203.0.113.9"})
    data = record.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert ConsentRecord.from_dict(data) == record


# --------------------------------------------------------------------------- the ledger


def test_the_newest_record_per_purpose_counts():
    old = withdraw(confirm(email_consent(NOW), NOW), NOW + timedelta(days=1))
    again = confirm(email_consent(NOW + timedelta(days=10)), NOW + timedelta(days=10))
    ledger = ConsentLedger((old, again))
    assert ledger.current("email_marketing") == again
    assert ledger.allows("email_marketing", NOW + timedelta(days=11))
    assert not ConsentLedger((old,)).allows("email_marketing", NOW + timedelta(days=2))


def test_the_snapshot_expires_pending_consents_on_read():
    ledger = ConsentLedger((email_consent(),))
    assert ledger.snapshot(NOW).pending == {"email_marketing"}
    later = ledger.snapshot(NOW + timedelta(days=8))
    assert later.expired == {"email_marketing"} and not later.allows("email_marketing")


def test_unsubscribe_withdraws_every_marketing_purpose_at_once():
    phone = new_consent("L1", "phone", text_version="v1", text="Anrufe ok.", language="de", form_id=None, now=NOW)
    tracking = new_consent("L1", "tracking", text_version="v1", text="Tracking ok.", language="de",
                           form_id=None, now=NOW)
    ledger = ConsentLedger((confirm(email_consent(), NOW), phone, tracking))
    after = ledger.withdraw_all(NOW + timedelta(days=1)).snapshot(NOW + timedelta(days=1))
    assert after.withdrawn == {"email_marketing", "phone"} and after.any_marketing_withdrawn
    assert after.confirmed == {"tracking"}


# --------------------------------------------------------------------------- tokens


def _payload(purpose="doi", **extra):
    return {"purpose": purpose, "lead_id": "L1", **extra}


def test_a_signed_token_verifies_and_carries_its_payload():
    token = sign_token(_payload("click", url="https://www.leadflow.example/x", step="checklist"), SECRET,
                       timedelta(days=30), now=NOW)
    payload = verify_token(token, SECRET, NOW + timedelta(days=29), purpose="click")
    assert payload["url"] == "https://www.leadflow.example/x" and payload["lead_id"] == "L1"
    assert payload["exp"] == int((NOW + timedelta(days=30)).timestamp()) and payload["nonce"]
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_two_tokens_for_the_same_thing_have_different_nonces():
    first = verify_token(sign_token(_payload(), SECRET, 60, now=NOW), SECRET, NOW)
    second = verify_token(sign_token(_payload(), SECRET, 60, now=NOW), SECRET, NOW)
    assert first["nonce"] != second["nonce"]


def _tamper(token: str) -> str:
    payload_b64, sig = token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    raw["lead_id"] = "SOMEONE-ELSE"
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    return f"{forged}.{sig}"


def test_a_tampered_token_is_refused():
    token = sign_token(_payload("unsubscribe"), SECRET, 3600, now=NOW)
    with pytest.raises(TokenTampered):
        verify_token(_tamper(token), SECRET, NOW)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(TokenTampered):
        verify_token(flipped, SECRET, NOW)
    with pytest.raises(TokenTampered):
        verify_token(token, OTHER_SECRET, NOW)


def test_an_expired_token_is_refused():
    token = sign_token(_payload(), SECRET, timedelta(days=7), now=NOW)
    verify_token(token, SECRET, NOW + timedelta(days=7) - timedelta(seconds=1))
    with pytest.raises(TokenExpired) as err:
        verify_token(token, SECRET, NOW + timedelta(days=7))
    assert err.value.code == "token_expired"


def test_a_token_for_another_purpose_is_refused():
    click = sign_token(_payload("click", url="https://www.leadflow.example/"), SECRET, 3600, now=NOW)
    with pytest.raises(TokenWrongPurpose):
        verify_token(click, SECRET, NOW, purpose="doi")
    with pytest.raises(TokenWrongPurpose):
        verify_token(click, SECRET, NOW, purpose="unsubscribe")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "not base64!.sig", "eyJ4Ijo.", ".abc", "x" * 5000, None, 42])
def test_garbage_is_refused_as_malformed(token):
    with pytest.raises(TokenMalformed):
        verify_token(token, SECRET, NOW)


def test_a_correctly_signed_payload_without_expiry_is_malformed():
    import hashlib as h
    import hmac

    body = base64.urlsafe_b64encode(b'{"purpose":"doi","lead_id":"L1"}').rstrip(b"=").decode()
    sig = hmac.new(SECRET, b"leadflow.token.v1." + body.encode(), h.sha256).digest()
    token = f"{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(TokenMalformed):
        verify_token(token, SECRET, NOW)


def test_secrets_rotate_without_breaking_links_already_sent():
    old_link = sign_token(_payload(), OTHER_SECRET, 3600, now=NOW)
    assert verify_token(old_link, [SECRET, OTHER_SECRET], NOW)["lead_id"] == "L1"


@pytest.mark.parametrize("payload,secret,ttl", [
    (_payload("login"), SECRET, 60), ({"purpose": "doi"}, SECRET, 60), (_payload(), b"short", 60),
    (_payload(), SECRET, 0), (_payload(), SECRET, timedelta(seconds=-1)),
])
def test_signing_refuses_misuse(payload, secret, ttl):
    with pytest.raises(ValueError):
        sign_token(payload, secret, ttl, now=NOW)


def test_the_doi_link_is_single_use_and_lives_as_long_as_the_pending_consent():
    record = email_consent()
    payload = verify_token(doi_token(record, SECRET, NOW), SECRET, NOW, purpose="doi")
    assert payload["record_id"] == record.record_id and payload["consent"] == "email_marketing"
    assert payload["exp"] == int(record.expires_at.timestamp())
    assert is_single_use(payload)
    key, ttl = nonce_marker(payload)
    assert key == f"nonce#doi#{payload['nonce']}" and ttl == payload["exp"]
    assert not is_single_use({"purpose": "click"})
    with pytest.raises(ConsentExpired):
        doi_token(record, SECRET, record.expires_at)
    with pytest.raises(ConsentError):
        doi_token(confirm(record, NOW), SECRET, NOW)
