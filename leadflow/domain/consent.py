"""The consent ledger (UWG §7, GDPR Art. 7) and the signed tokens of the mail links.

One record per purpose (email_marketing, phone, post, tracking) documents what
the person agreed to: the consent text version and the sha256 of the exact text
shown, the form, when it was given, when the double opt-in mail went out and
when it was confirmed, withdrawn or expired (BGH I ZR 164/09: the advertiser
must be able to prove the consent completely).

Email marketing needs double opt-in: the record starts `pending` and becomes
`confirmed` only through the signed, single-use, expiring link in the DOI mail;
until then no marketing mail goes out. Phone and post consents are recorded as
given in the form (a DOI mail proves the email address, not a phone number:
the same BGH decision), so they start `confirmed`.

Records are immutable: every transition returns a new record. A withdrawn
record is final; consenting again (a new form) creates a new record, and the
newest record per purpose is the one that counts.

Tokens are `<payload>.<signature>` in base64url, HMAC-SHA256 over the payload
with a context prefix; the payload carries the purpose of the link (doi,
unsubscribe, click, open), the lead id, a nonce and the expiry. Tampered,
malformed, expired and wrong-purpose tokens are refused with distinct errors.
Single use (DOI links) is enforced by the store: it keeps the used nonces
(`nonce_marker`) with a TTL until the token would have expired anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflow.domain.errors import DomainError

# --------------------------------------------------------------------------- errors


class ConsentError(DomainError):
    """A consent record cannot make the requested move."""

    code = "consent_error"


class ConsentExpired(ConsentError):
    """The DOI link came too late: the pending consent has expired. The person must subscribe again."""

    code = "consent_expired"


class ConsentWithdrawn(ConsentError):
    """The consent was withdrawn; only a new consent (a new form submission) can restore it."""

    code = "consent_withdrawn"


class UnknownConsentText(ConsentError):
    """The form names a consent text version (or purpose or language) the ledger does not know."""

    code = "unknown_consent_text"


class TokenError(DomainError):
    """Base class of every refused link token."""

    code = "token_invalid"


class TokenMalformed(TokenError):
    code = "token_malformed"


class TokenTampered(TokenError):
    """The signature does not match: the token was altered or signed with another secret."""

    code = "token_tampered"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenWrongPurpose(TokenError):
    """A valid token used for something else (e.g. a click token sent to /consent/confirm)."""

    code = "token_wrong_purpose"


class TokenAlreadyUsed(TokenError):
    """Raised by the caller when the store already holds the nonce of a single-use token."""

    code = "token_already_used"


# --------------------------------------------------------------------------- the ledger


class Purpose(str, Enum):
    EMAIL_MARKETING = "email_marketing"
    PHONE = "phone"
    POST = "post"
    TRACKING = "tracking"


class ConsentStatus(str, Enum):
    PENDING = "pending"        # given in the form, DOI not yet confirmed (email marketing only)
    CONFIRMED = "confirmed"    # effective
    WITHDRAWN = "withdrawn"    # final: unsubscribed, withdrawn, objected
    EXPIRED = "expired"        # DOI never confirmed in time: final


# Purposes whose consent must be confirmed by double opt-in before it counts.
DOI_PURPOSES: frozenset[Purpose] = frozenset({Purpose.EMAIL_MARKETING})
# Purposes that are advertising: a withdrawal of any of them stops nurturing.
MARKETING_PURPOSES: frozenset[Purpose] = frozenset({Purpose.EMAIL_MARKETING, Purpose.PHONE, Purpose.POST})
DEFAULT_DOI_EXPIRY_DAYS = 7


def text_hash(text: str) -> str:
    """sha256 (hex) of the exact consent text shown, UTF-8 encoded, nothing normalised."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return value


@dataclass(frozen=True)
class ConsentRecord:
    lead_id: str
    purpose: Purpose
    status: ConsentStatus
    text_version: str
    text_hash: str
    language: str
    form_id: str | None
    given_at: datetime
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    doi_sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawn_via: str | None = None   # unsubscribe_link | list_unsubscribe | request | complaint | admin
    expires_at: datetime | None = None  # pending records only
    # Facts of the confirmation request (e.g. {"ip": ..., "user_agent": ...}) when the caller keeps them.
    evidence: Mapping[str, str] | None = None

    @property
    def is_effective(self) -> bool:
        return self.status is ConsentStatus.CONFIRMED

    def is_expired_at(self, now: datetime) -> bool:
        return self.status is ConsentStatus.EXPIRED or (
            self.status is ConsentStatus.PENDING and self.expires_at is not None and now >= self.expires_at)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["purpose"] = self.purpose.value
        out["status"] = self.status.value
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        out["evidence"] = dict(self.evidence) if self.evidence else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsentRecord:
        values = dict(data)
        values["purpose"] = Purpose(values["purpose"])
        values["status"] = ConsentStatus(values["status"])
        for key in ("given_at", "doi_sent_at", "confirmed_at", "withdrawn_at", "expires_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


def new_consent(lead_id: str, purpose: Purpose | str, *, text_version: str, text: str, language: str,
                form_id: str | None, now: datetime,
                doi_expiry_days: int = DEFAULT_DOI_EXPIRY_DAYS) -> ConsentRecord:
    """The record of one consent as given in a form: pending for DOI purposes, confirmed otherwise."""
    _aware(now, "now")
    purpose = Purpose(purpose)
    needs_doi = purpose in DOI_PURPOSES
    return ConsentRecord(
        lead_id=lead_id, purpose=purpose,
        status=ConsentStatus.PENDING if needs_doi else ConsentStatus.CONFIRMED,
        text_version=text_version, text_hash=text_hash(text), language=language, form_id=form_id,
        given_at=now, confirmed_at=None if needs_doi else now,
        expires_at=now + timedelta(days=doi_expiry_days) if needs_doi else None,
    )


def record_consents(lead_id: str, purposes: Iterable[str], *, text_version: str, texts: ConsentTexts,
                    language: str, form_id: str | None, now: datetime,
                    doi_expiry_days: int = DEFAULT_DOI_EXPIRY_DAYS) -> list[ConsentRecord]:
    """One record per purpose of a form submission, each with the hash of the text the form showed.

    Raises UnknownConsentText when the version/purpose is not in `config/consent_texts.yaml`:
    a consent whose text cannot be shown later is no documented consent.
    """
    records = []
    for purpose in sorted(set(purposes)):
        shown = texts.text(text_version, purpose, language)
        records.append(new_consent(lead_id, purpose, text_version=text_version, text=shown.text,
                                   language=shown.language, form_id=form_id, now=now,
                                   doi_expiry_days=doi_expiry_days))
    return records


def mark_doi_sent(record: ConsentRecord, now: datetime) -> ConsentRecord:
    if record.status is not ConsentStatus.PENDING:
        raise ConsentError(f"no DOI mail for a {record.status.value} consent", field="status")
    return replace(record, doi_sent_at=_aware(now, "now"))


def confirm(record: ConsentRecord, now: datetime, *, evidence: Mapping[str, str] | None = None
            ) -> ConsentRecord:
    """Pending -> confirmed (the DOI link was followed in time).

    Confirming a confirmed record returns it unchanged (a second click on the
    link is not an error for the person; the single-use nonce stops replays).
    """
    _aware(now, "now")
    if record.status is ConsentStatus.CONFIRMED:
        return record
    if record.status is ConsentStatus.WITHDRAWN:
        raise ConsentWithdrawn("this consent was withdrawn and cannot be confirmed; subscribe again",
                               field="status")
    if record.is_expired_at(now):
        raise ConsentExpired("the confirmation link has expired; please subscribe again", field="token")
    return replace(record, status=ConsentStatus.CONFIRMED, confirmed_at=now,
                   evidence=dict(evidence) if evidence else record.evidence)


def withdraw(record: ConsentRecord, now: datetime, *, via: str = "request") -> ConsentRecord:
    """Any state -> withdrawn, at once. Withdrawing twice keeps the first time (idempotent)."""
    _aware(now, "now")
    if record.status is ConsentStatus.WITHDRAWN:
        return record
    return replace(record, status=ConsentStatus.WITHDRAWN, withdrawn_at=now, withdrawn_via=via)


def expire_if_due(record: ConsentRecord, now: datetime) -> ConsentRecord:
    """Pending past its expiry -> expired; every other record is returned unchanged."""
    if record.status is ConsentStatus.PENDING and record.is_expired_at(_aware(now, "now")):
        return replace(record, status=ConsentStatus.EXPIRED)
    return record


@dataclass(frozen=True)
class ConsentSnapshot:
    """Which purposes are effective now: what channel choice and the sweep read."""

    confirmed: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()
    withdrawn: frozenset[str] = frozenset()
    expired: frozenset[str] = frozenset()

    def allows(self, purpose: Purpose | str) -> bool:
        return Purpose(purpose).value in self.confirmed

    def is_pending(self, purpose: Purpose | str) -> bool:
        return Purpose(purpose).value in self.pending

    def is_withdrawn(self, purpose: Purpose | str) -> bool:
        return Purpose(purpose).value in self.withdrawn

    @property
    def any_marketing_withdrawn(self) -> bool:
        return any(p.value in self.withdrawn for p in MARKETING_PURPOSES)

    @classmethod
    def of(cls, *, confirmed: Iterable[str] = (), pending: Iterable[str] = (), withdrawn: Iterable[str] = (),
           expired: Iterable[str] = ()) -> ConsentSnapshot:
        def norm(items: Iterable[str]) -> frozenset[str]:
            return frozenset(Purpose(p).value for p in items)

        return cls(norm(confirmed), norm(pending), norm(withdrawn), norm(expired))


@dataclass(frozen=True)
class ConsentLedger:
    """All consent records of one lead; the newest record per purpose counts."""

    records: tuple[ConsentRecord, ...] = ()

    def current(self, purpose: Purpose | str) -> ConsentRecord | None:
        purpose = Purpose(purpose)
        mine = [r for r in self.records if r.purpose is purpose]
        return max(mine, key=lambda r: r.given_at) if mine else None

    def snapshot(self, now: datetime) -> ConsentSnapshot:
        groups: dict[ConsentStatus, set[str]] = {s: set() for s in ConsentStatus}
        for purpose in Purpose:
            record = self.current(purpose)
            if record is not None:
                groups[expire_if_due(record, now).status].add(purpose.value)
        return ConsentSnapshot(
            confirmed=frozenset(groups[ConsentStatus.CONFIRMED]),
            pending=frozenset(groups[ConsentStatus.PENDING]),
            withdrawn=frozenset(groups[ConsentStatus.WITHDRAWN]),
            expired=frozenset(groups[ConsentStatus.EXPIRED]),
        )

    def allows(self, purpose: Purpose | str, now: datetime) -> bool:
        return self.snapshot(now).allows(purpose)

    def withdraw_all(self, now: datetime, *, via: str = "unsubscribe_link") -> ConsentLedger:
        """Unsubscribe/objection: every marketing purpose withdrawn at once (older records kept as history)."""
        out = []
        for record in self.records:
            current = self.current(record.purpose)
            if record is current and record.purpose in MARKETING_PURPOSES:
                record = withdraw(record, now, via=via)
            out.append(record)
        return ConsentLedger(tuple(out))


# --------------------------------------------------------------------------- consent texts


class _PurposeTexts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    de: str = Field(min_length=20, max_length=4000)
    en: str = Field(min_length=20, max_length=4000)


class _TextVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    published: date
    purposes: dict[Purpose, _PurposeTexts]

    @field_validator("purposes")
    @classmethod
    def _email_marketing_present(cls, value: dict[Purpose, _PurposeTexts]) -> dict[Purpose, _PurposeTexts]:
        if Purpose.EMAIL_MARKETING not in value:
            raise ValueError("every version needs the email_marketing text")
        return value


@dataclass(frozen=True)
class ShownText:
    version: str
    purpose: str
    language: str
    text: str

    @property
    def hash(self) -> str:
        return text_hash(self.text)


class ConsentTexts(BaseModel):
    """`config/consent_texts.yaml`: the consent texts per version, purpose and language.

    A published version is never edited: a changed wording is a new version,
    so that every recorded hash still matches a text that can be shown.
    """

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    current: str
    versions: dict[str, _TextVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _current_exists(self) -> ConsentTexts:
        if self.current not in self.versions:
            raise ValueError(f"current: {self.current!r} is not one of the versions")
        return self

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> ConsentTexts:
        return cls.model_validate(document)

    def text(self, version: str, purpose: Purpose | str, language: str) -> ShownText:
        entry = self.versions.get(version)
        if entry is None:
            raise UnknownConsentText(
                f"unknown consent text version {version!r}; known: {', '.join(sorted(self.versions))}",
                field="consent.textVersion")
        try:
            purpose = Purpose(purpose)
        except ValueError:
            raise UnknownConsentText(f"unknown consent purpose {purpose!r}", field="consent.purposes") from None
        texts = entry.purposes.get(purpose)
        if texts is None:
            raise UnknownConsentText(f"version {version} has no text for {purpose.value}",
                                     field="consent.purposes")
        lang = (language or "de").split("-")[0].lower()
        lang = lang if lang in ("de", "en") else "en"
        return ShownText(version, purpose.value, lang, getattr(texts, lang))


# --------------------------------------------------------------------------- tokens

TOKEN_PURPOSES = ("doi", "unsubscribe", "click", "open")
# Links that work once: the store refuses a second use of the nonce.
SINGLE_USE_PURPOSES = frozenset({"doi"})
MIN_SECRET_BYTES = 16
MAX_TOKEN_CHARS = 4096
_CONTEXT = b"leadflow.token.v1."


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64decode(text: str) -> bytes:
    if not text or not _B64_CHARS.issuperset(text):
        raise TokenMalformed("the link token is not valid base64url", field="token")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenMalformed("the link token is not valid base64url", field="token") from None


def _mac(secret: bytes, payload_b64: str) -> bytes:
    return hmac.new(secret, _CONTEXT + payload_b64.encode("ascii"), hashlib.sha256).digest()


def _check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def sign_token(payload: Mapping[str, Any], secret: bytes, ttl: timedelta | float, *,
               now: datetime | None = None) -> str:
    """A signed, expiring link token.

    `payload` needs `purpose` (doi | unsubscribe | click | open) and `lead_id`;
    any other JSON values ride along (e.g. `url` and `step` for a click).
    A `nonce` is added unless given; `exp` (epoch seconds) is now + ttl
    (a timedelta or seconds).
    """
    _check_secret(secret)
    now = _aware(now, "now") if now is not None else datetime.now(UTC)
    if payload.get("purpose") not in TOKEN_PURPOSES:
        raise ValueError(f"payload purpose must be one of {', '.join(TOKEN_PURPOSES)}")
    if not payload.get("lead_id"):
        raise ValueError("payload needs a lead_id")
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if seconds <= 0:
        raise ValueError("ttl must be positive")
    body = dict(payload)
    body.setdefault("nonce", secrets.token_urlsafe(12))
    body["exp"] = int(now.timestamp() + seconds)
    payload_b64 = _b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    token = f"{payload_b64}.{_b64encode(_mac(secret, payload_b64))}"
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError(f"token longer than {MAX_TOKEN_CHARS} characters; keep payloads small")
    return token


def verify_token(token: str, secret: bytes | Sequence[bytes], now: datetime, *,
                 purpose: str | None = None) -> dict[str, Any]:
    """The payload of a token this service signed, or a TokenError saying why not.

    `secret` may be a sequence of secrets (the current first) to rotate keys
    without breaking links in mails already sent. With `purpose`, a token
    signed for another purpose is refused (TokenWrongPurpose). Checked in this
    order: shape, signature, purpose, expiry.
    """
    secrets_ = [secret] if isinstance(secret, bytes) else list(secret)
    if not secrets_:
        raise ValueError("no token secret configured")
    for key in secrets_:
        _check_secret(key)
    _aware(now, "now")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise TokenMalformed("the link token is malformed", field="token")
    payload_b64, sig_b64 = token.split(".")
    signature = _b64decode(sig_b64)
    _b64decode(payload_b64)  # shape first, so garbage is "malformed" rather than "tampered"
    if not any(hmac.compare_digest(signature, _mac(key, payload_b64)) for key in secrets_):
        raise TokenTampered("the link token's signature does not match", field="token")
    try:
        payload = json.loads(_b64decode(payload_b64))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenMalformed("the link token's payload is not JSON", field="token") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise TokenMalformed("the link token's payload lacks an expiry", field="token")
    if purpose is not None and payload.get("purpose") != purpose:
        raise TokenWrongPurpose(
            f"this link is for {payload.get('purpose')!r}, not {purpose!r}", field="token")
    if now.timestamp() >= payload["exp"]:
        raise TokenExpired("the link has expired", field="token")
    return payload


def is_single_use(payload: Mapping[str, Any]) -> bool:
    return payload.get("purpose") in SINGLE_USE_PURPOSES


def nonce_marker(payload: Mapping[str, Any]) -> tuple[str, int]:
    """(marker key, TTL epoch seconds) the store writes conditionally to use a token once."""
    return f"nonce#{payload['purpose']}#{payload['nonce']}", int(payload["exp"])


def doi_token(record: ConsentRecord, secret: bytes, now: datetime) -> str:
    """The token of the confirmation link `GET /consent/confirm?token=…`: valid until the record expires."""
    if record.status is not ConsentStatus.PENDING or record.expires_at is None:
        raise ConsentError("only a pending consent gets a confirmation link", field="status")
    if record.is_expired_at(now):
        raise ConsentExpired("the pending consent has expired; no confirmation link", field="status")
    return sign_token({"purpose": "doi", "lead_id": record.lead_id, "record_id": record.record_id,
                       "consent": record.purpose.value}, secret, record.expires_at - now, now=now)
