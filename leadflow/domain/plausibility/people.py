"""Names and the other words people type: first/last name, company, job title, street.

International names must pass: umlauts and accents (Zoë, Åsa Öberg), apostrophes
and particles (O'Brien, van der Berg), hyphens (García-Núñez), short Asian names
(Li Na, Ng), capitalised particles (McDonald). What is flagged: placeholders
(Max Mustermann, Vorname), fictional characters (Donald Duck), keyboard mash,
bot strings, digits, sentences, salutations in place of a name.
"""

from __future__ import annotations

import re

from .findings import Findings
from .text import fold, is_latin_text, letters_only
from .tokens import bot_string, mash_kind

PERSON_FIELDS = ("firstName", "lastName")
# Legal forms are not part of what a company is called (Test GmbH is "test").
LEGAL_FORMS = frozenset({
    "gmbh", "ag", "kg", "ug", "ohg", "se", "co", "ltd", "limited", "inc", "llc", "sa", "sarl", "sas", "bv", "nv",
    "ab", "as", "asa", "oy", "oyj", "spa", "srl", "plc", "corp", "corporation", "gbr", "ek", "mbh",
    "haftungsbeschrankt", "kgaa", "eg", "ev", "gesmbh", "sro", "kft", "zrt",
})
# Legal forms that cannot be initials or name particles: a company in a name field.
COMPANY_MARKERS = frozenset({
    "gmbh", "mbh", "ltd", "limited", "inc", "llc", "plc", "corp", "corporation", "kgaa", "ohg", "gbr", "gesmbh",
    "sarl", "srl", "kft", "zrt",
})
# Particles do not count as words of a name (García López de la Fuente has three).
NAME_PARTICLES = frozenset({
    "de", "del", "della", "der", "den", "des", "di", "da", "das", "do", "dos", "du", "la", "le", "van", "von", "zu",
    "y", "e", "bin", "ibn", "bint", "al", "el", "ben", "ter", "te", "op", "af", "av",
})
# Tokens shorter than this in company names and streets are left alone (IBM, 3M, A&O, Str).
MIN_COMPANY_WORD = 4


def _has_text(value: str) -> bool:
    return any(ch.isalnum() for ch in value)


def _mash_in(field: str, words: list[str], findings: Findings, min_length: int = 1) -> bool:
    for word in words:
        if len(word) < min_length:
            continue
        kind = mash_kind(word, findings.rules)
        if kind:
            findings.add(kind, field, f"{word!r} looks like keyboard mash, not a real value")
            return True
    return False


def _bot_words(field: str, value: str, findings: Findings) -> bool:
    for word in value.split():
        if bot_string(word, findings.rules):
            findings.add("gibberish", field, f"{word!r} looks like a generated string")
            return True
    return False


# ------------------------------------------------------------------------------------------
# Person names
# ------------------------------------------------------------------------------------------


def name_words(value: str, findings: Findings) -> list[str]:
    """Folded words of a name without academic titles (Dr. Stefanie -> ['stefanie'])."""
    return [w for w in fold(value).split() if w not in findings.rules.titles]


def check_name_field(field: str, value: str, findings: Findings) -> None:
    rules = findings.rules
    letters = letters_only(value)
    digits = sum(ch.isdigit() for ch in value)
    if digits and not letters:
        findings.add("name_numeric", field, "a number where a name belongs")
        return
    if digits:
        findings.add("name_digits", field, "a name with digits in it")
    folded = fold(value)
    words = name_words(value, findings)
    if len(folded.split()) > rules.name_words_reject:
        findings.add("name_is_sentence", field, "a sentence where a name belongs")
        return
    counted = [w for w in words if w not in NAME_PARTICLES]
    if len(counted) >= rules.name_words_review:
        findings.add("name_too_many_words", field, f"{len(counted)} words; more than a name has")
    if COMPANY_MARKERS & set(words):
        findings.add("name_is_company", field, "a company name where a person's name belongs")
    if folded in rules.placeholder_values:
        findings.add("placeholder_value", field, f"{value.strip()!r} is a form placeholder, not a name")
        return
    for word in words:
        if word in rules.name_spam_words:
            findings.add("name_spam", field, f"{word!r}: advertising, not a name")
            return
        if word in rules.name_words:
            findings.add("placeholder_value", field, f"{word!r} is not a name")
            return
        if word in rules.surnames:
            findings.add("placeholder_name", field, f"{word!r} is a placeholder name")
            return
    if _mash_in(field, [w for w in words if w.isalpha()], findings) or _bot_words(field, value, findings):
        return
    given = [w for w in words if w not in rules.salutations]
    if words and not given:
        findings.add("name_salutation", field, f"{value.strip()!r} is a salutation, not a name")
    elif given and all(len(w) == 1 and w.isascii() for w in given):
        # Latin letters only (J., T. M.); a single Chinese character is a whole given name (伟).
        findings.add("name_initial_only", field, "only initials")


def _full_name_matches(first: list[str], last: list[str], names: frozenset[str]) -> bool:
    full = " ".join(first + last)
    reverse = " ".join(last + first)
    if full in names or reverse in names:
        return True
    # A whole placeholder typed into one field (firstName = "Donald Duck").
    return " ".join(first) in names or " ".join(last) in names


def _near_placeholder(first: list[str], last: list[str], findings: Findings) -> str | None:
    """Max Musterman, Erika Mustermnn: one typo away from a long placeholder name."""
    full = " ".join(first + last)
    if len(full) < 12:
        return None
    from rapidfuzz.distance import Levenshtein  # imported on first use: keeps the import light

    for name in findings.rules.person_names:
        if len(name) >= 12 and Levenshtein.distance(full, name, score_cutoff=1) <= 1:
            return name
    return None


# Particles stay lower case when a name is re-cased (Ursula von der Heide).
LOWER_PARTICLES = frozenset({"von", "van", "der", "den", "de", "del", "della", "di", "da", "du", "des", "la", "le",
                             "zu", "zum", "zur", "ter", "ten", "dos", "das", "do", "y", "e", "bin", "ibn"})


def proper_case(value: str) -> str:
    """MÜLLER-LÜDENSCHEIDT -> Müller-Lüdenscheidt, o'brien -> O'Brien, VON DER HEIDE -> von der Heide."""
    words = value.strip().split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in LOWER_PARTICLES and len(words) > 1 and i < len(words) - 1:
            out.append(lower)
            continue
        out.append(re.sub(r"(^|[-'’])(\w)", lambda m: m.group(1) + m.group(2).upper(), lower))
    return " ".join(out)


def _one_case(values: list[str], upper: bool) -> bool:
    letters = [letters_only(v) for v in values]
    if not all(is_latin_text(v) for v in letters) or not any(letters):
        return False
    # Four letters at least: "AN NG" and "lu ma" count, initials ("J K") do not.
    return all((v.isupper() if upper else v.islower()) for v in letters if v) and sum(map(len, letters)) >= 4


def check_person(first_raw: str, last_raw: str, findings: Findings) -> None:
    rules = findings.rules
    present = {f: v for f, v in (("firstName", first_raw), ("lastName", last_raw)) if _has_text(v)}
    if not present:
        findings.add("name_missing", "name", "no name given")
        return
    if len(present) == 1:
        missing = "lastName" if "firstName" in present else "firstName"
        findings.add("name_incomplete", missing, f"{missing} is missing")
    for field, value in present.items():
        check_name_field(field, value, findings)
    first = name_words(first_raw, findings) if "firstName" in present else []
    last = name_words(last_raw, findings) if "lastName" in present else []
    if _full_name_matches(first, last, rules.placeholder_values):
        findings.add("placeholder_value", "name", f"{' '.join(first + last)!r} is a form placeholder, not a name")
    elif _full_name_matches(first, last, rules.person_names):
        findings.add("placeholder_name", "name", f"{' '.join(first + last)!r} is a placeholder name")
    elif _full_name_matches(first, last, rules.fictional_names):
        findings.add("fictional_name", "name", f"{' '.join(first + last)!r} is a fictional character")
    elif near := _near_placeholder(first, last, findings):
        findings.add("placeholder_name", "name", f"close to the placeholder name {near!r}")
    elif _full_name_matches(first, last, rules.celebrity_names):
        findings.add("celebrity_name", "name", f"{' '.join(first + last)!r} is a celebrity's name")
    if first and last and first == last:
        findings.add("name_repeated", "name", "first and last name are the same")
    words = first + last
    if words and all(w in rules.role_local_parts for w in words):
        findings.add("name_is_role", "name", f"{' '.join(present.values())!r} names a team or mailbox, not a person")
    recase = [(f, v, proper_case(v)) for f, v in present.items()]
    if len(present) == 2 and _one_case(list(present.values()), upper=True):
        findings.add("name_all_caps", "name", "name written in capitals only", suggest=recase)
    elif len(present) == 2 and _one_case(list(present.values()), upper=False):
        findings.add("name_all_lower", "name", "name written in lower case only", suggest=recase)
    _combined(first_raw, last_raw, first, last, findings)


def _combined(first_raw: str, last_raw: str, first: list[str], last: list[str], findings: Findings) -> None:
    """The whole name in one field: 'Thomas Müller' / 'Müller', or 'Müller, Thomas' / ''."""
    if first and last and len(first) > len(last) and first[-len(last):] == last:
        rest = " ".join(first_raw.split()[: len(first_raw.split()) - len(last_raw.split())])
        findings.add("name_combined", "firstName", "the first name field holds the last name too",
                     suggest=[("firstName", first_raw, rest)] if rest else ())
    elif first and last and len(last) > len(first) and last[: len(first)] == first:
        rest = " ".join(last_raw.split()[len(first_raw.split()):])
        findings.add("name_combined", "lastName", "the last name field holds the first name too",
                     suggest=[("lastName", last_raw, rest)] if rest else ())
    for field, raw, other in (("firstName", first_raw, last_raw), ("lastName", last_raw, first_raw)):
        head, comma, tail = raw.partition(",")
        if comma and head.strip() and tail.strip() and not other.strip():
            # "Müller, Thomas": surname first, as on lists and ID cards.
            findings.add("name_combined", field, f"{raw.strip()!r}: first and last name in one field",
                         suggest=[("firstName", other, tail.strip()), ("lastName", "", head.strip())]
                         if field == "firstName" else [("firstName", other, tail.strip()),
                                                       ("lastName", raw, head.strip())])


# ------------------------------------------------------------------------------------------
# Company, job title, street: free text with a few placeholders
# ------------------------------------------------------------------------------------------


def _filler(field: str, words: list[str], findings: Findings) -> bool:
    """Only filler words (test, asdf, dummy): "Test Engineer" and "Dekra Test Services" are real."""
    if words and all(word in findings.rules.filler_words for word in words):
        findings.add("placeholder_value", field, f"{' '.join(words)!r} is filler, not a real value")
        return True
    return False


def _placeholder_company(words: list[str], rules) -> bool:
    """Irgendwas GmbH, Test AG, Musterfirma, Firma XY: only placeholder words and generic
    words for 'company' (a generic word alone is filler, not a placeholder)."""
    placeholder = [w for w in words if w in rules.company_placeholder_words or w in rules.filler_words
                   or _placeholder_compound(w, rules)]
    rest = [w for w in words if w not in placeholder and w not in rules.company_generic_words]
    return bool(placeholder) and not rest


def _placeholder_compound(word: str, rules) -> bool:
    """Musterfirma, Testunternehmen: a placeholder prefix glued to a generic word
    (Musterring, Testo are real companies: their rest is not a generic word)."""
    return any(word.startswith(p) and word[len(p):] in rules.company_generic_words
               for p in rules.company_placeholder_prefixes)


def check_company(value: str, findings: Findings) -> None:
    rules = findings.rules
    folded = fold(value)
    words = [w for w in folded.split() if w not in LEGAL_FORMS]
    if not _has_text(value) or folded in rules.company_filler or " ".join(words) in rules.company_filler:
        # "privat", "-", "keine": the form forced an answer; leave the field empty instead.
        findings.add("company_filler", "company", f"{value.strip()!r} is filler, not a company",
                     suggest=[("company", value, "")])
        return
    if not words:
        return
    if " ".join(words) in rules.companies or _placeholder_company(words, rules):
        findings.add("placeholder_value", "company", f"{value.strip()!r} is a placeholder company")
        return
    if _filler("company", words, findings):
        return
    # Acronyms (KPMG, HSBC) have no vowels; only keyboard shapes count in a company name.
    for word in words:
        long_enough = len(word) >= MIN_COMPANY_WORD or len(words) == 1
        if long_enough and mash_kind(word, rules) == "keyboard_mash":
            findings.add("keyboard_mash", "company", f"{word!r} looks like keyboard mash")
            return


def check_job_title(value: str, findings: Findings) -> None:
    words = fold(value).split()
    if fold(value) in findings.rules.placeholder_values:
        findings.add("placeholder_value", "jobTitle", f"{value.strip()!r} is not a job title")
        return
    if _filler("jobTitle", words, findings):
        return
    for word in words:
        long_enough = len(word) >= MIN_COMPANY_WORD or len(words) == 1
        if word.isalpha() and long_enough and mash_kind(word, findings.rules) == "keyboard_mash":
            findings.add("keyboard_mash", "jobTitle", f"{word!r} looks like keyboard mash")
            return


def check_street(value: str, findings: Findings) -> None:
    rules = findings.rules
    words = [w for w in fold(value).split() if w.isalpha()]
    if not words:
        return
    if words[0] in rules.streets or " ".join(words) in rules.streets or words[0].startswith(rules.street_prefixes):
        findings.add("placeholder_street", "street", f"{value.strip()!r} is an example street")
        return
    if fold(value) in rules.placeholder_values or _filler("street", words, findings):
        return
    if len(words) == 1 or any(len(w) >= MIN_COMPANY_WORD for w in words):
        _mash_in("street", words, findings, min_length=MIN_COMPANY_WORD if len(words) > 1 else 1)
