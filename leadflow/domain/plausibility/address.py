"""Country, postal code and city: does the address hang together?

The city is looked up in the GeoNames index under every spelling people use
(München, Muenchen, Munich; St. Gallen / Sankt Gallen; "Frankfurt a.M.",
"München-Pasing", "80331 München"). A city known only elsewhere is a hard
contradiction when it is a big city there (London with DE); otherwise it is a
question for a person (a village the index does not know, a typo).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .findings import Findings
from .geo import place_index
from .text import fold, fold_variants, is_latin_text
from .tokens import mash_kind

VILLAGE_CLASS = 2  # under 1,000 inhabitants
DIGIT_GROUPS = re.compile(r"\b[A-Z]{0,2}-?\d[\d\s-]*\b", re.IGNORECASE)
PART_SEPARATORS = re.compile(r"\s*[,/()]\s*|\s+-\s+")


def normalise_country(value: str, findings: Findings) -> str | None:
    """ISO alpha-2 upper case; aliases like UK -> GB. None when missing."""
    code = value.strip().upper()
    if not code:
        return None
    return findings.rules.country_aliases.get(code, code)


def check_country(code: str, findings: Findings) -> bool:
    import phonenumbers

    if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
        findings.add("country_unknown", "country", f"{code!r} is not an ISO 3166 country code")
        return False
    return True


# ------------------------------------------------------------------------------------------
# Postal code
# ------------------------------------------------------------------------------------------


def _postal_pattern(country: str, findings: Findings) -> re.Pattern[str] | None:
    overrides = findings.rules.postal_overrides
    if country in overrides:
        return overrides[country]
    facts = place_index().countries.get(country)
    if not facts or not facts.postal_regex:
        return None
    return _compiled(facts.postal_regex)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compiled(regex: str) -> re.Pattern[str]:
    if regex not in _COMPILED:
        _COMPILED[regex] = re.compile(regex, re.IGNORECASE)
    return _COMPILED[regex]


def strip_country_prefix(code: str, findings: Findings) -> str:
    """D-80331 -> 80331, CH-8001 -> 8001 (old style, still common)."""
    match = re.match(r"^([A-Z]{1,2})[-\s](?=\d)", code)
    if match and match.group(1) in findings.rules.postal_prefixes:
        return code[match.end():]
    return code


def check_postal_code(value: str, country: str | None, findings: Findings) -> None:
    code = strip_country_prefix(value.strip().upper(), findings)
    digits = re.sub(r"\D", "", code)
    if digits and len(digits) >= 4 and len(set(digits)) == 1 and not re.search(r"[A-Z]", code):
        findings.add("postal_code_placeholder", "postalCode", f"{value.strip()} is a placeholder postal code")
        return
    if digits in ("1234", "12345", "123456", "54321"):
        findings.add("postal_code_sequence", "postalCode", f"{value.strip()} looks like a placeholder postal code")
        return
    if not country:
        return
    pattern = _postal_pattern(country, findings)
    if pattern is not None and not pattern.match(code.strip()):
        findings.add("postal_code_format", "postalCode", f"{value.strip()} is not a postal code of {country}")


# ------------------------------------------------------------------------------------------
# City
# ------------------------------------------------------------------------------------------


def city_keys(city: str) -> tuple[list[str], list[str]]:
    """(primary, secondary) lookup keys for a city as typed.

    Primary: the whole name and its comma/slash/bracket parts ("Biel/Bienne",
    "London, UK", "Halle (Saale)"). Secondary: hyphen parts and shorter word
    prefixes ("München-Pasing" -> münchen, "Frankfurt a.M." -> frankfurt).
    Only primary keys may prove that a city lies in another country.
    """
    without_digits = DIGIT_GROUPS.sub(" ", city).strip(" ,-")
    primary: list[str] = []
    for text in [without_digits, *PART_SEPARATORS.split(without_digits)]:
        for key in sorted(fold_variants(text)):
            if key and key not in primary:
                primary.append(key)
    secondary: list[str] = []
    for key in primary[:]:
        words = key.split()
        for n in range(len(words) - 1, 0, -1):
            prefix = " ".join(words[:n])
            if len(prefix) >= 3 and prefix not in primary and prefix not in secondary:
                secondary.append(prefix)
    for part in re.split(r"-", without_digits):
        for key in sorted(fold_variants(part)):
            if len(key) >= 3 and key not in primary and key not in secondary:
                secondary.append(key)
    return primary, secondary


def _city_text_junk(city: str, findings: Findings) -> bool:
    rules = findings.rules
    folded = fold(city)
    if not any(ch.isalpha() for ch in city):
        findings.add("city_numeric", "city", f"{city.strip()!r} is not a place name")
        return True
    if folded in rules.cities or folded in rules.placeholder_values:
        findings.add("placeholder_value", "city", f"{city.strip()!r} is a placeholder or fictional place")
        return True
    for word in folded.split():
        if word in rules.filler_words:
            findings.add("placeholder_value", "city", f"{word!r} is not a place")
            return True
        kind = mash_kind(word, rules) if word.isalpha() else None
        if kind:
            findings.add(kind, "city", f"{word!r} looks like keyboard mash, not a place")
            return True
    return False


def _fuzzy_in_country(keys: list[str], country: str, min_class: int = 0) -> str | None:
    for key in keys:
        found = _fuzzy_key(key, country, min_class)
        if found:
            return found
    return None


@lru_cache(maxsize=8192)  # a list of thousands repeats its cities
def _fuzzy_key(key: str, country: str, min_class: int) -> str | None:
    """The most populous place of the country one typo away (Muenchn, Dusseldorff, Kölm):
    one edit for names up to 9 letters, two for longer ones, and only among names with
    the same first two letters (that is where typos are not)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA  # a swap of neighbours is one typo (Salzbrug)

    if len(key) < 4:
        return None
    index = place_index()
    allowed = 1 if len(key) < 10 else 2
    names = index.names_starting_with(key[:2], country)
    matches = [m for m in process.extract(key, names, scorer=OSA.distance, score_cutoff=allowed, limit=None)
               if m[0] != key]
    if not matches:
        return None

    def rank(match):
        place = index.lookup(match[0])[country]
        return match[1], not place.main_name, -place.population_class, match[0]

    best = min(matches, key=rank)[0]
    return best if index.lookup(best)[country].population_class >= min_class else None


def display_name(key: str, country: str) -> str:
    """A folded index key as people write it: muenchen -> München (the index also has
    munchen), soest -> Soest (there is no sost), frankfurt am main -> Frankfurt am Main.
    Accents other than German umlauts are not in the index and stay off."""
    index = place_index()
    spelled = key
    for i, ch in enumerate(key):
        # dusseldorf -> duesseldorf when the index has that too: the name has an umlaut
        if ch in "aou" and key[i + 1:i + 2] != "e":
            expanded = key[: i + 1] + "e" + key[i + 1:]
            if country in index.lookup(expanded):
                spelled = spelled[: i + 1 + len(spelled) - len(key)] + "e" + spelled[i + 1 + len(spelled) - len(key):]
    for folded, umlaut in (("ae", "ä"), ("oe", "ö"), ("ue", "ü")):
        if folded in spelled and country in index.lookup(spelled.replace(folded, folded[0])):
            spelled = spelled.replace(folded, umlaut)
    small = {"am", "an", "der", "die", "das", "im", "in", "bei", "vor", "ob", "und", "de", "la", "le", "sur"}
    words = spelled.split()
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _prominent(place, big: int) -> bool:
    """A big city under its own name (London), or a very big one under a well-known
    other name (Munich, Vienna); obscure alternate names of big cities do not count."""
    return place.population_class >= (big if place.main_name else big + 1)


def _village_namesake(city: str, whole_name: bool, places: dict, country: str, findings: Findings) -> None:
    """Salzburg with DE: Germany has a village of that name, Austria the city. Ask a person."""
    big = findings.rules.big_city_population_class
    here = places[country]
    elsewhere = {code: p for code, p in places.items() if code != country and _prominent(p, big)}
    if whole_name and here.population_class <= VILLAGE_CLASS and elsewhere:
        findings.add(
            "city_likely_elsewhere", "city",
            f"{city.strip()} is a city in {', '.join(sorted(elsewhere))}; in {country} only a village of that name",
        )


def _near_big_city(city: str, key: str, place, country: str, findings: Findings) -> None:
    """Hamburh, Frankfrut: a small place of that name exists, but a big city of the
    country is one typo away; the big city is far likelier what was meant."""
    big = findings.rules.big_city_population_class
    if place.population_class > VILLAGE_CLASS + 1 or len(key) < 5 or " " in key:
        return
    near = _fuzzy_in_country([key], country, min_class=big)
    if near and near != key and place_index().lookup(near)[country].main_name:
        meant = display_name(near, country)
        findings.add("city_spelling", "city", f"{city.strip()} is probably {meant} ({country})",
                     suggest=[("city", city, meant)])


def _describe(countries: dict[str, int]) -> str:
    return ", ".join(sorted(countries, key=lambda c: -countries[c])[:4])


def check_city(city: str, country: str | None, findings: Findings) -> None:
    if _city_text_junk(city, findings) or not country:
        return
    if not is_latin_text(city):
        return  # the index holds Latin-script names only; 東京 is not evidence of anything
    index = place_index()
    primary, secondary = city_keys(city)
    found_elsewhere: dict[str, int] = {}
    prominent_elsewhere = False
    big = findings.rules.big_city_population_class
    for key in primary + secondary:
        places = index.lookup(key)
        if country in places:
            _village_namesake(city, key in primary, places, country, findings)
            _near_big_city(city, key, places[country], country, findings)
            return
        if key in primary:
            for code, place in places.items():
                found_elsewhere[code] = max(place.population_class, found_elsewhere.get(code, -1))
                prominent_elsewhere = prominent_elsewhere or _prominent(place, big)
    if prominent_elsewhere:
        findings.add(
            "city_country_mismatch", "city",
            f"{city.strip()} is a city in {_describe(found_elsewhere)}, not in {country}",
        )
        return
    near = _fuzzy_in_country(primary, country)
    if near:
        meant = display_name(near, country)
        findings.add("city_spelling", "city", f"{city.strip()} is probably {meant} ({country})",
                     suggest=[("city", city, meant)])
    elif found_elsewhere:
        findings.add(
            "city_unknown_in_country", "city",
            f"{city.strip()} is known in {_describe(found_elsewhere)}, not in {country}"
        )
    else:
        findings.add("city_unknown_in_country", "city", f"{city.strip()} is not a place we know in {country}")


def check_postal_region(postal: str, city: str, country: str, findings: Findings) -> None:
    """Does the postal code's region (its first digit) serve a state that has this city?"""
    allowed_by_digit = findings.rules.postal_regions.get(country)
    code = strip_country_prefix(postal.strip().upper(), findings)
    if not allowed_by_digit or not code[:1].isdigit() or code[:1] not in allowed_by_digit:
        return
    index = place_index()
    primary, secondary = city_keys(city)
    regions: set[str] = set()
    for key in primary + secondary:
        place = index.lookup(key).get(country)
        if place:
            regions |= place.regions
    if regions and not regions & allowed_by_digit[code[:1]]:
        findings.add(
            "postal_code_city_mismatch", "postalCode",
            f"{postal.strip()} is a postal code of another region than {city.strip()}",
        )
