"""Text normalisation shared by the checks and by the city-index generator.

Place names and name tokens are compared after *folding*: case-folded,
diacritics stripped, punctuation turned into spaces. German umlauts have two
spellings in the wild (München / Muenchen), so `fold_variants` yields both.
The generator (`scripts/build_city_index.py`) uses the same functions, which
is what makes a lookup match the committed index.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that NFKD does not decompose into base letter + combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
    }
)
_UMLAUT_EXPANSION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_PUNCTUATION = re.compile(r"[\s\-‐‑–—/\\.,;:()\[\]'’‘`´\"“”„+&_]+")
# "St." / "Sankt" / "Saint" / "Ste." mean the same in place names (St. Gallen, Sankt Pölten).
_SAINT_TOKENS = {"sankt": "st", "saint": "st", "sainte": "ste", "st": "st"}


def strip_diacritics(text: str) -> str:
    """`Nguyễn Åsa Łódź` -> `Nguyen Asa Lodz` (letters outside Latin are kept)."""
    text = text.translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Recompose what NFKD split without accents (Hangul syllables into jamo).
    return stripped if stripped.isascii() else unicodedata.normalize("NFC", stripped)


@lru_cache(maxsize=65536)
def fold(text: str, expand_umlauts: bool = False) -> str:
    """Case-, accent- and punctuation-insensitive key: `Halle (Saale)` -> `halle saale`."""
    if expand_umlauts:
        text = text.translate(_UMLAUT_EXPANSION)
    text = strip_diacritics(text).casefold()
    tokens = _PUNCTUATION.sub(" ", text).split()
    return " ".join(_SAINT_TOKENS.get(token, token) for token in tokens)


def fold_variants(text: str) -> set[str]:
    """Both spellings of a name with umlauts: `München` -> {`munchen`, `muenchen`}."""
    return {fold(text), fold(text, expand_umlauts=True)} - {""}


def letters_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def is_latin_letter(ch: str) -> bool:
    if ch.isascii():
        return ch.isalpha()
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


@lru_cache(maxsize=65536)
def is_latin_text(text: str) -> bool:
    """True when every letter is Latin (digits, spaces, punctuation ignored)."""
    return all(is_latin_letter(ch) for ch in text if ch.isalpha())
