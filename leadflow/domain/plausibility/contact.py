"""Email and phone: can we reach this person?

Email: syntax by email-validator (no DNS: the check must be fast and work
offline), throw-away domains by disposable-email-domains (subdomains too),
example/test domains, test inboxes, and typos of the big providers (gmial.com,
gmx.dee), which are a person to help, not a reason to reject. A private
free-mail address is never a reason by itself.

Phone: phonenumbers' core only (its geocoder import costs ~0.5 s); placeholder
digit patterns (0000000, 123456789), validity, and the country of an
international number against the stated country.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from .findings import Findings
from .rules import PlausibilityRules
from .text import fold
from .tokens import mash_kind

# Second-level labels under which a ccTLD registers domains (yahoo.co.uk, uol.com.br).
SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "gv", "ltd", "plc"})
SAME_DIGIT_RUN = re.compile(r"(\d)\1{6,}")
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})
# What people type when they have no phone or will not give it: treated as "no phone".
NO_VALUE = re.compile(r"^[\s\-./_?]*$|^(keine?|none|n/?a|nein|no|k\.?\s?a\.?|-+)$", re.IGNORECASE)


def is_blank(value: str) -> bool:
    return not value or bool(NO_VALUE.match(value.strip()))


# ------------------------------------------------------------------------------------------
# Email
# ------------------------------------------------------------------------------------------


def _validate(address: str):
    from email_validator import EmailNotValidError, validate_email  # ~50 ms import: on first use

    try:
        return validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None


def repaired_address(address: str) -> str:
    """The obvious fix of a near miss: comma for dot, spaces, double dots, (at)."""
    fixed = address.strip().replace(",", ".").replace(" ", "")
    fixed = re.sub(r"\(at\)|\[at\]|\{at\}", "@", fixed, flags=re.IGNORECASE)
    fixed = re.sub(r"@+", "@", fixed)
    fixed = re.sub(r"\.{2,}", ".", fixed).strip(".")
    return fixed.replace(".@", "@").replace("@.", "@")


@lru_cache(maxsize=1)
def _disposable_blocklist() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def is_disposable(domain: str, rules: PlausibilityRules) -> bool:
    """The domain or any parent domain is a throw-away provider (x.mailinator.com too)."""
    blocklist = _disposable_blocklist()
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in rules.disposable_allow:
            return False
        if candidate in blocklist or candidate in rules.disposable_extra:
            return True
    return False


def split_domain(domain: str) -> tuple[str, str]:
    """(registrable label, public suffix): mail.gmx.de -> (gmx, de); yahoo.co.uk -> (yahoo, co.uk)."""
    labels = domain.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL:
        return labels[-3], ".".join(labels[-2:])
    if len(labels) >= 2:
        return labels[-2], labels[-1]
    return domain, ""


@lru_cache(maxsize=1)
def _country_tlds() -> frozenset[str]:
    import phonenumbers

    return frozenset(code.lower() for code in phonenumbers.SUPPORTED_REGIONS) | {"uk", "eu", "su"}


def is_known_tld(suffix: str, rules: PlausibilityRules) -> bool:
    last = suffix.rsplit(".", 1)[-1]
    return last.startswith("xn--") or last in rules.generic_tlds or last in _country_tlds()


def _osa(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (gmial -> gmail)."""
    from rapidfuzz.distance import OSA  # imported on first use: keeps the import light

    return OSA.distance(a, b)


def _closest(candidates: list[str], text: str) -> str:
    return min(candidates, key=lambda c: (_osa(c, text), c != "com", c))


def _is_transposition(label: str, provider: str) -> bool:
    """wbe/web, gxm/gmx: the one typo of a short label that is rarely another real domain
    (one letter more or less, or another letter, often is: aok.de, aon.at, gmc.com)."""
    return len(label) == len(provider) and sorted(label) == sorted(provider) and _osa(label, provider) == 1


_typo_cache: dict[tuple[PlausibilityRules, str], str | None] = {}


def typo_suggestion(domain: str, rules: PlausibilityRules) -> str | None:
    """The provider domain a mistyped one was meant to be (gmial.com -> gmail.com), or None.
    Remembered per domain: a list of thousands has a few hundred domains."""
    key = (rules, domain)
    if key not in _typo_cache:
        if len(_typo_cache) > 20_000:
            _typo_cache.clear()
        _typo_cache[key] = _typo_suggestion(domain, rules)
    return _typo_cache[key]


def _typo_suggestion(domain: str, rules: PlausibilityRules) -> str | None:
    if domain in rules.provider_domains:
        return None
    if domain in rules.typo_domains:
        return rules.typo_domains[domain]
    label, suffix = split_domain(domain)
    known_suffix = is_known_tld(suffix, rules)
    for provider, domains in rules.providers.items():
        suffixes = [split_domain(d)[1] for d in domains]
        if label == provider:
            if not known_suffix or provider in rules.strict_labels or suffix in rules.typo_tlds:
                return f"{provider}.{_closest(suffixes, suffix)}"
            continue
        close = (len(provider) >= 5 and _osa(label, provider) == 1) or _is_transposition(label, provider)
        if close and (suffix in suffixes or not known_suffix or min(_osa(suffix, s) for s in suffixes) <= 1):
            return f"{provider}.{_closest(suffixes, suffix)}"
    if not known_suffix and rules.common_tlds:
        nearest = _closest(list(rules.common_tlds), suffix)
        if _osa(nearest, suffix) <= 1:
            return domain[: len(domain) - len(suffix)] + nearest
    return None


def _local_words(local: str) -> list[str]:
    return [w for w in re.split(r"[._+\-]+", re.sub(r"\d+", "", local.lower())) if w]


@lru_cache(maxsize=4)
def _joined_names(rules: PlausibilityRules) -> frozenset[str]:
    """maxmustermann, johndoe: placeholder names as they appear in a local part."""
    return frozenset(n.replace(" ", "") for n in rules.person_names | rules.fictional_names)


def _check_local_part(local: str, findings: Findings) -> None:
    rules = findings.rules
    words = [fold(w) for w in _local_words(local)]
    words = [w for w in words if w]
    if not words:
        return
    spaced, joined = " ".join(words), "".join(words)
    if spaced in rules.email_local_parts or joined in rules.email_local_parts:
        findings.add("email_placeholder_local", "email", f"{local!r} is not a personal inbox")
        return
    names = rules.person_names | rules.fictional_names
    if spaced in names or joined in _joined_names(rules) or any(w in rules.surnames for w in words):
        findings.add("placeholder_name", "email", "the address is made of a placeholder name")
        return
    for word in words:
        if word in rules.role_local_parts:
            continue  # hello@, hallo@: a team's mailbox (a review reason), not mash
        if len(word) >= 3 and mash_kind(word, rules) == "keyboard_mash":
            findings.add("keyboard_mash", "email", f"{word!r} in the address looks like keyboard mash")
            return
    if any(w in rules.email_test_tokens for w in words):
        findings.add("email_test_token", "email", "looks like a test address")


def _check_domain(domain: str, findings: Findings, original: str = "", local: str = "") -> None:
    """Placeholder, then typo (typo-squatted domains are also on disposable lists, but a
    person who mistyped gmail.com is not a throw-away address), then TLD, disposable, mash."""
    rules = findings.rules
    label, suffix = split_domain(domain)
    tld = suffix.rsplit(".", 1)[-1]
    if domain in rules.email_domains or tld in RESERVED_TLDS or fold(label) in rules.email_domain_labels:
        findings.add("email_placeholder_domain", "email", f"{domain} is an example domain, not an inbox")
        return
    suggestion = typo_suggestion(domain, rules)
    if suggestion:
        findings.add("email_domain_typo", "email", f"{domain} looks like a typo of {suggestion}",
                     suggest=[("email", original, f"{local}@{suggestion}")] if original else ())
        return
    if len(tld) < 2 or not (tld.isalpha() or tld.startswith("xn--")):
        findings.add("email_invalid", "email", f"{domain} has no valid top-level domain")
        return
    if is_disposable(domain, rules):
        findings.add("email_disposable", "email", f"{domain} is a throw-away (disposable) mail provider")
        return
    if len(label) >= 4 and domain not in rules.provider_domains and mash_kind(fold(label), rules) == "keyboard_mash":
        findings.add("keyboard_mash", "email", f"the domain {domain} looks like keyboard mash")


def check_email(value: str, findings: Findings) -> None:
    address = value.strip()
    if address.rpartition(".")[2].lower() in RESERVED_TLDS and "@" in address:
        # email-validator refuses these as special-use; say why: it is an example.
        findings.add("email_placeholder_domain", "email", f"{address.rpartition('@')[2]} is reserved for examples")
        return
    result = _validate(address)
    if result is None:
        fixed = repaired_address(address)
        result = _validate(fixed) if fixed != address else None
        if result is None:
            findings.add("email_invalid", "email", f"{address!r} is not an email address")
            return
        # One suggestion for both fixes: gmail,con -> gmail.com.
        meant = typo_suggestion(result.ascii_domain.lower(), findings.rules)
        best = f"{result.local_part}@{meant}" if meant else fixed
        findings.add("email_malformed", "email", f"not a valid address; probably {best}",
                     suggest=[("email", address, best)])
    malformed = findings.has_code("email_malformed")
    _check_domain(result.ascii_domain.lower(), findings, "" if malformed else address, result.local_part)
    _check_local_part(result.local_part, findings)


# ------------------------------------------------------------------------------------------
# Phone
# ------------------------------------------------------------------------------------------


def _steps(digits: str) -> set[int]:
    core = digits[:-1] if digits.endswith("90") else digits  # 1234567890: the 0 after 9
    return {int(b) - int(a) for a, b in pairwise(core)}


def _repeats_chunk(digits: str) -> bool:
    """One digit, or a chunk of two or three, repeated throughout (0000000, 121212, 123123123)."""
    for size in (1, 2, 3):
        if len(digits) >= max(4, 2 * size + 2) and all(d == digits[i % size] for i, d in enumerate(digits)):
            return True
    return False


def digit_pattern(digits: str, rules: PlausibilityRules) -> str | None:
    """`filler` (0000000, 121212, 0815, seven equal digits), `up` (123456789, 0123 456789)
    or `down` (9876543210) when the whole number is such a pattern; else None."""
    if digits in rules.placeholder_phones or SAME_DIGIT_RUN.search(digits):
        return "filler"
    for candidate in (digits, digits.lstrip("0")):
        if len(candidate) < 4:
            continue
        if _repeats_chunk(candidate):
            return "filler"
        steps = _steps(candidate)
        if steps == {1}:
            return "up"
        if steps == {-1} and len(candidate) >= 6:
            return "down"
    return None


def _judge_digits(raw: str, digits: str, international: bool, findings: Findings) -> bool:
    """Report a placeholder pattern; True when one was found. Counting up is a placeholder,
    unless typed with a country code (+43 1 2345678 may be somebody's example of a real
    number, so a person looks); counting down (98765 43210) always goes to a person."""
    pattern = digit_pattern(digits, findings.rules)
    if pattern == "filler" or (pattern == "up" and not international):
        findings.add("phone_placeholder", "phone", f"{raw} is a placeholder, not a phone number")
    elif pattern in ("up", "down"):
        findings.add("phone_sequence", "phone", f"{raw} counts {pattern}; probably not a real number")
    return pattern is not None


def _national_digits(parsed) -> str:
    return ("0" * (parsed.number_of_leading_zeros or 1) if parsed.italian_leading_zero else "") + str(
        parsed.national_number
    )


PHONE_LABELS = re.compile(r"^\s*(tel(efon)?|phone|mobil(e)?|handy|mob|cell)\.?\s*:?\s*", re.IGNORECASE)
PHONE_EXTENSION = re.compile(r"\b(durchwahl|dw|nebenstelle|app)\.?\s*:?\s*(?=\d)", re.IGNORECASE)


def _without_labels(raw: str) -> str:
    """`Tel.: 089 2441054 Durchwahl 12` -> `089 2441054 ext 12` (phonenumbers knows `ext`)."""
    return PHONE_EXTENSION.sub("ext ", PHONE_LABELS.sub("", raw))


def _parse_phone(raw: str, country: str | None, rules: PlausibilityRules):
    """Parse in the stated country; without one, try the default region, then the fallbacks
    (a Swiss 079 number from a form without a country field is fine)."""
    import phonenumbers

    if country in phonenumbers.SUPPORTED_REGIONS:
        regions: tuple[str, ...] = (country,)
    else:
        regions = (rules.default_phone_region, *rules.fallback_phone_regions)
    first = None
    text = _without_labels(raw)
    for region in regions:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return parsed
        first = first or parsed
    return first


def _fictional(parsed, raw: str, findings: Findings) -> bool:
    """Ranges regulators keep free for films and books (NANP 555-01xx, Ofcom's drama
    numbers such as 07700 900xxx): nobody can answer them."""
    pattern = findings.rules.fictional_phones
    if pattern is not None and pattern.match(f"{parsed.country_code}{_national_digits(parsed)}"):
        findings.add("phone_fictional", "phone", f"{raw} is in a range reserved for films and books")
        return True
    return False


def _judge_subscriber(parsed, raw: str, findings: Findings) -> bool:
    """The number after the area or mobile code repeats (030 111111): a placeholder behind
    a real prefix. Counting up or down (+49 30 1234567, 06 12 34 56 78) is hardly chance
    either, but people type their real prefix with it when they will not give the number,
    and some do have such numbers: a person looks."""
    import phonenumbers

    national = _national_digits(parsed)
    subscriber = national[phonenumbers.length_of_national_destination_code(parsed):]
    if len(subscriber) < 5:
        return False
    pattern = digit_pattern(subscriber, findings.rules)
    if pattern is None:
        return False
    if pattern == "filler":
        findings.add("phone_placeholder", "phone", f"{raw}: the number after the prefix is a placeholder")
    else:
        findings.add("phone_sequence", "phone", f"{raw} counts {pattern}; probably not a real number")
    return True


def normalised_phone(value: str, country: str | None, rules: PlausibilityRules) -> str | None:
    """The international form of a valid number (+49 171 4829173), else None."""
    import phonenumbers

    parsed = _parse_phone(value, country, rules)
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def check_phone(value: str, country: str | None, findings: Findings) -> None:
    import phonenumbers  # the core module only; never phonenumbers.geocoder/carrier/timezone

    rules = findings.rules
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        if mash_kind(fold(raw).replace(" ", ""), rules):
            findings.add("phone_placeholder", "phone", f"{raw!r} is not a phone number")
        else:
            findings.add("phone_invalid", "phone", f"{raw!r} has no digits")
        return
    international = _without_labels(raw).lstrip().startswith(("+", "00"))
    if _judge_digits(raw, digits, international, findings):
        return
    parsed = _parse_phone(raw, country, rules)
    if parsed is None:
        findings.add("phone_invalid", "phone", f"{raw} cannot be read as a phone number")
        return
    if _judge_digits(raw, _national_digits(parsed), international, findings):
        return
    if _fictional(parsed, raw, findings):
        return
    valid = phonenumbers.is_valid_number(parsed)
    if valid and _judge_subscriber(parsed, raw, findings):
        return
    if not valid:
        findings.add("phone_invalid", "phone", f"{raw} is not a valid phone number")
        return
    if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.PREMIUM_RATE:
        findings.add("phone_premium", "phone", f"{raw} is a premium-rate number")
    stated = country in phonenumbers.SUPPORTED_REGIONS
    if international and stated and parsed.country_code != phonenumbers.country_code_for_region(country):
        number_region = phonenumbers.region_code_for_number(parsed) or f"+{parsed.country_code}"
        findings.add("phone_country_mismatch", "phone", f"a phone number from {number_region} with country {country}")
