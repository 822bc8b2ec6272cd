"""Recognising the same person: normalised email, phone in E.164, fuzzy name + company.

Exact keys (email, phone) and the blocking key are keyed hashes (HMAC-SHA256 with the
product's hash key) before they are stored as match keys, so the match index holds no
personal data anyone could recompute from a list of addresses. Fuzzy candidates are found by
a coarse blocking key and then compared with rapidfuzz.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

# Providers that ignore dots and +tags in the local part.
_DOTLESS = {"gmail.com", "googlemail.com"}
_PLUS_TAGS = _DOTLESS | {"outlook.com", "hotmail.com", "live.com", "icloud.com", "protonmail.com", "proton.me",
                         "fastmail.com", "posteo.de", "mailbox.org"}
_LEGAL_FORMS = re.compile(
    r"\b(gmbh|mbh|ag|kg|ohg|gbr|ug|se|co|kgaa|e\.?\s?v|e\.?\s?k|ltd|llc|inc|corp|plc|sa|sarl|srl|spa|bv|nv|"
    r"oy|ab|as|aps|sp\.? z o\.?o|haftungsbeschraenkt|holding|group|gruppe|und|and|the|&)\b\.?")

FUZZY_THRESHOLD = 90.0  # token-sort ratio on name and on company, each


def normalize_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, domain = email.strip().lower().rsplit("@", 1)
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalize_phone(phone: str | None, country: str | None) -> str | None:
    if not phone:
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(phone, (country or "DE").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str | None) -> str:
    """Lower case, umlauts transliterated, accents and punctuation removed."""
    if not text:
        return ""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9 ]+", " ", text).strip()


def normalize_company(company: str | None) -> str:
    return re.sub(r"\s+", " ", _LEGAL_FORMS.sub(" ", fold(company))).strip()


def hashed(kind: str, value: str, key: bytes) -> str:
    return f"{kind}#{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]}"


def blocking_key(last_name: str | None, company: str | None, key: bytes) -> str | None:
    """Coarse key that puts likely duplicates together: surname + company initials."""
    surname = fold(last_name).replace(" ", "")
    firm = normalize_company(company).replace(" ", "")
    if len(surname) < 2 or len(firm) < 2:
        return None
    return hashed("nameco", f"{surname[:4]}|{firm[:3]}", key)


@dataclass(frozen=True)
class ContactKeys:
    email: str | None
    phone: str | None
    name_company: str | None

    def all(self) -> list[str]:
        return [k for k in (self.email, self.phone, self.name_company) if k]


def keys_for(*, email: str | None, phone: str | None, country: str | None, last_name: str | None,
             company: str | None, key: bytes) -> ContactKeys:
    norm_email = normalize_email(email)
    norm_phone = normalize_phone(phone, country)
    return ContactKeys(
        email=hashed("email", norm_email, key) if norm_email else None,
        phone=hashed("phone", norm_phone, key) if norm_phone else None,
        name_company=blocking_key(last_name, company, key),
    )


def same_person(a: dict, b: dict) -> float:
    """Similarity (0-100) of two contacts by name and company; both must be close."""
    from rapidfuzz import fuzz

    name_a = fold(f"{a.get('first_name') or ''} {a.get('last_name') or ''}")
    name_b = fold(f"{b.get('first_name') or ''} {b.get('last_name') or ''}")
    if not name_a or not name_b:
        return 0.0
    name_score = fuzz.token_sort_ratio(name_a, name_b)
    company_score = fuzz.token_sort_ratio(normalize_company(a.get("company")), normalize_company(b.get("company")))
    return min(name_score, company_score)
