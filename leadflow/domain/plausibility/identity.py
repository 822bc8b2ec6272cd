"""Do the fields describe one person? The email local part against the name, the
company against the name.

A local part *fits* the person when it can be spelled from their names: whole
names in either spelling (Müller / mueller / muller, Yılmaz / yilmaz), their
initials (jm@, hml@), the start of a name as nicknames and short forms go
(alex, chris, steffi starts like Stefanie), in any order and glued or separated
(j.mueller, mueller.j, jmueller, mueller_jan). Only two shapes are reported,
both for a person to look at: a local part built like somebody's full name
that shares nothing with this person (anna.schmidt@ from Thomas Weber), and
a random string (xk7qp2m@, wqpeozxk@). Handles that are words (sunshine84@,
bienchen@) are neither: many private addresses look like that.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from .findings import Findings
from .text import fold, is_latin_text
from .tokens import VOWELS

SEPARATORS = re.compile(r"[._+\-]+")
# Name words shorter than this are used as initials only when matching pieces.
MIN_PREFIX = 3
# Consonant letter groups that are one sound in names (Schmidt, Hirsch, Zschokke).
CLUSTERS = re.compile(r"tsch|sch|ch|ck|ph|th|sh|sz|cz|rz|dz")
# "Local part looks random": no fitting and one of these shapes.
MIN_RANDOM_LENGTH = 6
MAX_CONSONANT_RUN = 4


def _name_variants(value: str) -> list[str]:
    """Folded words of a name in both umlaut spellings: Müller-Lüdenscheidt ->
    muller, ludenscheidt, mueller, luedenscheidt, and the glued forms."""
    words: list[str] = []
    for spelling in {fold(value), fold(value, expand_umlauts=True)}:
        parts = [w for w in spelling.split() if w.isalpha()]
        for word in [*parts, "".join(parts)]:
            if word and word not in words:
                words.append(word)
    return words


@lru_cache(maxsize=4096)
def _pieces(first: str, last: str) -> tuple[frozenset[str], frozenset[str]]:
    """(whole names, their initials)."""
    names = [w for w in _name_variants(first) + _name_variants(last) if w]
    return frozenset(names), frozenset(w[0] for w in names)


def _spellable(token: str, names: frozenset[str], initials: frozenset[str]) -> bool:
    """Can `token` be cut into names, name beginnings (3+ letters) and initials, with
    at least one piece longer than an initial or only initials (jm, hml)?"""
    n = len(token)
    # reach[i]: token[:i] can be cut; value: True when a piece longer than one letter was used
    reach: dict[int, bool] = {0: False}
    for i in range(n):
        if i not in reach:
            continue
        long_used = reach[i]
        if token[i] in initials:
            reach[i + 1] = reach.get(i + 1, False) or long_used
        for name in names:
            for end in range(min(n, i + len(name)), i + MIN_PREFIX - 1, -1):
                if name.startswith(token[i:end]):
                    reach[end] = True
                    break
    if n not in reach:
        return False
    return reach[n] or n <= 3  # only initials: jm@, hml@


def _close_to_a_name(token: str, names: frozenset[str]) -> bool:
    """One letter off a longer name: Mohamed / Mohammed, Meyer / Meier."""
    if len(token) < 5:
        return False
    from rapidfuzz.distance import Levenshtein

    return any(len(name) >= 5 and Levenshtein.distance(token, name, score_cutoff=1) <= 1 for name in names)


def fits(token: str, names: frozenset[str], initials: frozenset[str]) -> bool:
    return _spellable(token, names, initials) or _close_to_a_name(token, names)


def _consonant_run(word: str) -> int:
    longest = run = 0
    for ch in CLUSTERS.sub("c", word):
        run = 0 if ch in VOWELS else run + 1
        longest = max(longest, run)
    return longest


def digit_switches(local: str) -> int:
    """Changes between letters and digits: 7 in h2b1w0m7, 1 in anna1983."""
    return sum(1 for a, b in pairwise(local) if a.isalnum() and b.isalnum() and a.isdigit() != b.isdigit())


def looks_random(local: str, rare_bigrams: frozenset[str]) -> bool:
    """Letters and digits thrown together (k8j3h2x), or a word no language spells:
    two letter pairs that place names of the world hardly have (wq, zx), or five
    consonants in a row (sch, ch, ck ... count as one)."""
    raw = local.lower()
    if digit_switches(raw) >= 4:
        return True
    for word in SEPARATORS.split(re.sub(r"\d+", ".", raw)):
        if len(word) < MIN_RANDOM_LENGTH or not word.isascii() or not word.isalpha():
            continue
        rare = sum(1 for a, b in pairwise(word) if a + b in rare_bigrams)
        if rare >= 2 or _consonant_run(word) > MAX_CONSONANT_RUN:
            return True
    return False


def check_email_fits_person(email: str, first: str, last: str, findings: Findings) -> None:
    """Report a role mailbox, or a local part that is clearly somebody else's name, or random."""
    if findings.has("email") or "@" not in email:
        return  # the address has its own problem already; one reason is enough
    local = email.strip().rpartition("@")[0]
    tokens = [fold(t).replace(" ", "") for t in SEPARATORS.split(re.sub(r"\d+", ".", local.lower()))]
    tokens = [t for t in tokens if t]
    if not tokens:
        return
    role = findings.rules.role_local_parts
    names, initials = _pieces(first, last) if is_latin_text(first + last) else (frozenset(), frozenset())
    names = frozenset(n for n in names if n not in role)  # "Info Team" is not a name to fit
    # One letter fits by chance (the e of v2g6k7e8 is an initial of Eike): it counts only
    # when the whole local part is initials (jm@, j.k@).
    long_tokens = [t for t in tokens if len(t) >= 2] or tokens
    fitting = bool(names) and any(fits(t, names, initials) for t in long_tokens)
    if tokens[0] in role and not fitting:
        findings.add("email_role_account", "email",
                     f"{local}@ is a shared or role mailbox (a team, not a person)")
        return
    if digit_switches(local) >= 4:  # h2b1w0m7: letters that fit the name are chance here
        findings.add("email_random", "email", f"{local!r} looks like a random string, not a person's address")
        return
    if not names or fitting:
        return
    if looks_random(local, findings.rules.rare_bigrams):
        findings.add("email_random", "email", f"{local!r} looks like a random string, not a person's address")
        return
    words = [t for t in tokens if len(t) >= 3 and t not in findings.rules.role_local_parts]
    if len(words) >= 2 and len(tokens) == 2:
        findings.add("email_other_person", "email",
                     f"{local!r} reads like another person's name than {first.strip()} {last.strip()}".strip())


def check_company_is_name(company: str, first: str, last: str, findings: Findings) -> None:
    """The person's own name typed as the company (Jan Becker / Jan Becker)."""
    from .people import LEGAL_FORMS

    words = [w for w in fold(company).split() if w not in LEGAL_FORMS]
    full = fold(f"{first} {last}").split()
    if words and len(full) >= 2 and (sorted(words) == sorted(full) or words == fold(first).split()):
        findings.add("company_is_name", "company", f"{company.strip()!r} is the person's name, not a company")
