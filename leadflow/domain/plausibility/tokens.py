"""Is one word keyboard mash or a bot string? (asdf, qwertz, xxx, abcd, sdfsdf, bWjKeLqzPx)

Each test looks at a single folded word and is deliberately narrow: a real
name in any language must not be caught (Ng, Li, Smrž, Ewert, Lulu, Oo), so
only shapes that names do not have count: a whole word that runs along one
keyboard row, a word made of one repeated chunk, long words without a vowel,
words whose letters switch case like random bot output.
"""

from __future__ import annotations

import re
from itertools import pairwise

from .rules import PlausibilityRules
from .text import is_latin_text

VOWELS = frozenset("aeiouy")
SYLLABIC = frozenset("rl")
LONG_SAME_LETTER = re.compile(r"([a-z])\1{3,}")  # Maaaax, hhhhh


def repeated_unit_length(word: str) -> int:
    """Length of the shortest chunk the word repeats (3 for `asdasd`), or 0."""
    n = len(word)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and word[:size] * (n // size) == word:
            return size
    return 0


def is_row_run(word: str, rows: tuple[str, ...], min_length: int) -> bool:
    """The whole word is a stretch of one keyboard row, either direction (asdf, lkjh)."""
    if len(word) < min_length:
        return False
    reverse = word[::-1]
    return any(word in row or reverse in row for row in rows)


def is_two_runs(word: str, rows: tuple[str, ...]) -> bool:
    """The word is two row-stretches of 3+ keys glued together (asdfjkl, asdjkl)."""
    return any(
        is_row_run(word[:cut], rows, 3) and is_row_run(word[cut:], rows, 3) for cut in range(3, len(word) - 2)
    )


def is_one_row_without_vowel(word: str, rows: tuple[str, ...]) -> bool:
    """Four keys of one row and no vowel (jdjd, sdsf): drumming on the home row."""
    return len(word) == 4 and not (set(word) & VOWELS) and any(set(word) <= set(row) for row in rows)


def case_switches(original: str) -> int:
    """lower->UPPER switches inside one word: 1 for McDonald, 4 for bWjKeLqzPx."""
    return sum(1 for a, b in pairwise(original) if a.islower() and b.isupper())


def _mashy_chunk(chunk: str, times: int, rules: PlausibilityRules) -> bool:
    """sdf+sdf, jk+jk+jk, asd+asd are mash; Tingting, Weiwei, Loulou, Bülbül are names.

    A doubled syllable is a name in many languages, so only chunks without a
    vowel, chunks that run along a keyboard row, or a short chunk said three
    times or more (hahaha) count.
    """
    if times >= 3 and len(chunk) <= 3:
        return True
    if not chunk.isascii():
        return False  # vowels and keyboard rows are Latin-script ideas
    return not (set(chunk) & VOWELS) or is_row_run(chunk, _keyboard_rows(rules), 3)


def _analyse(word: str, rules: PlausibilityRules) -> str | None:
    if not word or word in rules.mash_allow:
        return None
    unit = repeated_unit_length(word)
    if unit == 1 and len(word) >= 3:
        return "keyboard_mash"
    if unit >= 2 and len(word) >= 6 and _mashy_chunk(word[:unit], len(word) // unit, rules):
        return "keyboard_mash"
    if word in rules.mash_words:
        return "keyboard_mash"
    if LONG_SAME_LETTER.search(word):
        return "keyboard_mash"
    if not (word.isalpha() and word.isascii()):
        return None
    if is_row_run(word, rules.keyboard_rows, rules.min_run):
        return "keyboard_mash"
    keyboard = _keyboard_rows(rules)
    if len(word) >= 6 and is_two_runs(word, keyboard):
        return "keyboard_mash"
    if len(word) >= rules.min_vowelless_length and is_vowelless(word):
        return "gibberish"
    if is_one_row_without_vowel(word, keyboard):
        return "gibberish"
    return None


def _keyboard_rows(rules: PlausibilityRules) -> tuple[str, ...]:
    """The physical rows only (not the alphabet): Werghi is w-e-r + g-h-i, but not mash."""
    return tuple(row for row in rules.keyboard_rows if len(row) < 26)


def is_vowelless(word: str) -> bool:
    """No vowel at all. Short words with r or l pass: Slavic names have syllabic r/l (Škrlj, Smrk)."""
    if set(word) & VOWELS:
        return False
    return not (len(word) <= 5 and set(word) & SYLLABIC)


# Words repeat a lot across a batch: each word's answer, per rules object.
_answers: dict[tuple[PlausibilityRules, str], str | None] = {}


def mash_kind(word: str, rules: PlausibilityRules) -> str | None:
    """`keyboard_mash`, `gibberish` or None for one folded word."""
    key = (rules, word)
    if key not in _answers:
        if len(_answers) > 50_000:
            _answers.clear()
        _answers[key] = _analyse(word, rules)
    return _answers[key]


def bot_string(original_word: str, rules: PlausibilityRules) -> bool:
    """Random upper/lower case inside one word, as bots generate names."""
    return is_latin_text(original_word) and case_switches(original_word) > rules.max_case_switches
