"""Finding leads by what a person types: normalising, tokens, the search index's keys, the
filter and sort rules and the page cursor of `searchLeads`. Pure: the store writes and reads
the index items these functions describe (store/search.py), the service composes them.

Normalising: lower case, German transliteration (ä -> ae, ö -> oe, ü -> ue, ß -> ss), other accents
dropped (é -> e). A word with an umlaut is indexed both ways ("Müller": mueller and muller), so
Müller, Mueller and muller all find it. A query word of three or more characters matches as a prefix,
a shorter one matches a whole word (Li, Wu, Ng): the index partitions text by its first three
characters, so a shorter word names a partition of whole words only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from leadflow.domain.errors import InvalidInput

# The fields a search looks at, with their one-letter code in the index items.
NAME, COMPANY, EMAIL, PHONE, POSTAL = "n", "c", "e", "p", "z"
SEARCHED_FIELDS = ("first_name", "last_name", "company", "email", "phone", "postal_code", "country")
TEXT_PREFIX = 3  # a text partition: the first three characters of a token
PHONE_PREFIX = 6  # a phone partition: the first six digits (phone prefixes are few and skewed)
MAX_TOKENS = 30  # index items per lead: a change deletes and puts at most 2 x 30 in its transaction
MAX_QUERY_CHARS = 200
MAX_SOURCE_WORDS = 4  # query words read from the index at most (the longest); all are checked

# Legal forms and fillers: in most company names, so they would find everything and say nothing.
STOP_WORDS = frozenset({
    "ag", "co", "eg", "ev", "gbr", "gmbh", "inc", "kg", "kgaa", "llc", "ltd", "mbh", "ohg", "plc", "sa",
    "sarl", "se", "srl", "spa", "ug", "bv", "nv", "und", "and", "the", "der", "die", "das", "of", "haftungsbeschraenkt",
})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_EMAIL_KEEP = re.compile(r"[^a-z0-9@._+-]+")
_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9()/.\-\s]+$")


def fold(text: str, *, german: bool = True) -> str:
    """Lower case without accents; `german`: umlauts as ae/oe/ue (else as a/o/u), ß as ss."""
    text = text.lower()
    if german:
        text = text.translate(_GERMAN)
    text = text.replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    """The words of a name or company, each in every spelling it is found by (see module doc)."""
    if not text:
        return []
    out: list[str] = []
    for spelling in dict.fromkeys((fold(text), fold(text, german=False))):
        out += [w for w in _WORD_SPLIT.split(spelling) if w]
    return list(dict.fromkeys(out))


def _email_tokens(email: str | None) -> list[str]:
    if not email or "@" not in email:
        return []
    address = _EMAIL_KEEP.sub("", fold(email.strip()))
    local, _, domain = address.rpartition("@")
    labels = domain.split(".")
    parts = [address, domain, *_WORD_SPLIT.split(local)]
    parts += [w for label in labels[:-1] for w in _WORD_SPLIT.split(label)]  # not the TLD: everyone has one
    return [p for p in dict.fromkeys(parts) if p]


def _phone_tokens(phone: str | None, country: str | None) -> list[str]:
    """International digits (4989123456) and the national form with its trunk prefix (089123456)."""
    if not phone:
        return []
    import phonenumbers  # the core module only

    digits = re.sub(r"\D", "", phone)
    try:
        number = phonenumbers.parse(phone, (country or "DE").upper())
    except phonenumbers.NumberParseException:
        return [digits] if digits else []
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    international = f"{number.country_code}{number.national_number}"
    return [t for t in dict.fromkeys((international, national, digits)) if t]


def field_tokens(fields: Mapping[str, Any], codes: Iterable[str] | None = None) -> dict[str, list[str]]:
    """{field code: tokens} of a lead's searchable fields (names as in the lead item); of the
    fields `codes` only, when given."""
    makers = {
        NAME: lambda: list(dict.fromkeys(words(fields.get("first_name")) + words(fields.get("last_name")))),
        COMPANY: lambda: words(fields.get("company")),
        EMAIL: lambda: _email_tokens(fields.get("email")),
        PHONE: lambda: _phone_tokens(fields.get("phone"), fields.get("country")),
        POSTAL: lambda: [p] if (p := re.sub(r"[^a-z0-9]", "", fold(fields.get("postal_code") or ""))) else [],
    }
    wanted = set(codes) if codes is not None else set(makers)
    return {code: make() for code, make in makers.items() if code in wanted}


# Each prefix partition is split in this many shards by the lead: a word many leads share (a freemail
# domain, a common surname) would otherwise put a write of most captures on one partition.
INDEX_SHARDS = 4


def shard_of(lead_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(lead_id.encode(), digest_size=2).digest(), "big") % INDEX_SHARDS


def _prefix_of(code: str, token: str) -> str:
    """Phones by their first six digits, text by three characters."""
    return f"p#{token[:PHONE_PREFIX]}" if code == PHONE else f"t#{token[:TEXT_PREFIX]}"


def partition_of(code: str, token: str, lead_id: str) -> str:
    """The index partition of a lead's token: its prefix partition, in the lead's shard."""
    return f"{_prefix_of(code, token)}#{shard_of(lead_id)}"


def partitions_of(code: str, token: str) -> list[str]:
    """Every shard of a token's prefix partition (a search reads them all)."""
    return [f"{_prefix_of(code, token)}#{n}" for n in range(INDEX_SHARDS)]


def index_entries(lead_id: str, fields: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """{(partition, sort key "<token>#<lead id>"): the codes of the fields that have the token} of a
    lead's index items. Stop words and one-character words get none; at most MAX_TOKENS items
    (names, company, email first)."""
    entries: dict[tuple[str, str], str] = {}
    for code, tokens in field_tokens(fields).items():
        for token in tokens:
            if len(token) < 2 or token in STOP_WORDS or (code == PHONE and len(token) < PHONE_PREFIX):
                continue
            key = (partition_of(code, token, lead_id), f"{token}#{lead_id}")
            if key in entries:
                entries[key] += code if code not in entries[key] else ""
            elif len(entries) < MAX_TOKENS:
                entries[key] = code
    return entries


def parse_entry(sort_key: str) -> tuple[str, str]:
    """(token, lead id) of an index item's sort key."""
    token, lead_id = sort_key.rsplit("#", 1)
    return token, lead_id


# --------------------------------------------------------------------------- queries
@dataclass(frozen=True)
class QueryWord:
    text: str
    phone: bool = False  # digits typed like a phone number: also searched among phones

    def matches(self, token: str) -> bool:
        """A word of three or more characters is a prefix; a shorter one a whole word."""
        return token.startswith(self.text) if len(self.text) >= TEXT_PREFIX else token == self.text

    def lookups(self) -> list[tuple[str, str]]:
        """(partition, sort key prefix) the index is read with for this word (none: too short, a stop word)."""
        if len(self.text) < 2 or self.text in STOP_WORDS:
            return []
        prefix = self.text if len(self.text) >= TEXT_PREFIX else f"{self.text}#"
        out = [(partition, prefix) for partition in partitions_of(NAME, self.text)]
        if self.phone and len(self.text) >= PHONE_PREFIX:
            out += [(partition, self.text) for partition in partitions_of(PHONE, self.text)]
        return out


def parse_query(query: str | None) -> list[QueryWord]:
    """The words of a query. An address (has @) is one word; digits typed as a phone number
    ("+49 89 123-456", "089 123456") are one word of digits (+ and 00 dropped)."""
    if query is None:
        return []
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query: at most {MAX_QUERY_CHARS} characters", field="query")
    out: list[QueryWord] = []
    digits: list[str] = []

    def flush() -> None:
        if digits:
            text = "".join(digits)
            text = text[2:] if text.startswith("00") else text
            out.append(QueryWord(text, phone=True))
            digits.clear()

    for raw in query.split():
        if _PHONE_CHARS.match(raw) and re.search(r"\d", raw):
            digits.append(re.sub(r"\D", "", raw))
            continue
        flush()
        if "@" in raw or _DOMAIN.match(raw):
            word = _EMAIL_KEEP.sub("", fold(raw))
            if word:
                out.append(QueryWord(word))
            continue
        out += [QueryWord(w) for w in _WORD_SPLIT.split(fold(raw)) if w]
    flush()
    return list(dict.fromkeys(out))


def source_words(query_words: list[QueryWord]) -> list[QueryWord]:
    """The words read from the index, most selective (longest) first."""
    usable = [w for w in query_words if w.lookups()]
    return sorted(usable, key=lambda w: -len(w.text))[:MAX_SOURCE_WORDS]


def lead_matches(query_words: Iterable[QueryWord], fields: Mapping[str, Any], codes: Iterable[str] | None = None
                 ) -> bool:
    """Every query word matches a token of the lead (of the fields `codes` only, when given)."""
    query_words = list(query_words)
    if not query_words:
        return True
    wanted = set(codes) if codes is not None else {NAME, COMPANY, EMAIL, PHONE, POSTAL}
    if not any(w.phone for w in query_words):
        wanted.discard(PHONE)  # parsing a phone number is the costly part: only for digits typed
    tokens_by_field = field_tokens(fields, wanted)
    tokens = [t for code, ts in tokens_by_field.items() if code in wanted for t in ts]
    return all(any(word.matches(t) for t in tokens) for word in query_words)


# --------------------------------------------------------------------------- filter and sort
@dataclass(frozen=True)
class SearchFilter:
    """Each set filter narrows (AND); the values of one filter are alternatives (OR).
    Date ranges are whole days in the company's time zone, both ends included."""

    stages: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    stage_entered_from: date | None = None
    stage_entered_to: date | None = None
    tz: Any = field(default=UTC, compare=False)

    MAX_VALUES = 20

    def check(self) -> SearchFilter:
        for name in ("stages", "owners", "grades", "qualities", "sources", "campaigns", "countries"):
            values = getattr(self, name)
            if len(values) > self.MAX_VALUES:
                raise InvalidInput(f"filter.{name}: at most {self.MAX_VALUES} values", field=f"filter.{name}")
            if any(not isinstance(v, str) or not v.strip() or len(v) > 100 for v in values):
                raise InvalidInput(f"filter.{name}: each value is a non-empty text of at most 100 characters",
                                   field=f"filter.{name}")
        bad = [c for c in self.countries if not re.fullmatch(r"[A-Za-z]{2}", c)]
        if bad:
            raise InvalidInput(f"filter.countries: {bad[0]!r} is not a two-letter ISO country code",
                               field="filter.countries")
        for low, high, name in ((self.created_from, self.created_to, "created"),
                                (self.stage_entered_from, self.stage_entered_to, "stageEntered")):
            if low and high and low > high:
                raise InvalidInput(f"filter.{name}From {low} is after filter.{name}To {high}",
                                   field=f"filter.{name}From")
        return self

    def _in_days(self, at: datetime | None, low: date | None, high: date | None) -> bool:
        if low is None and high is None:
            return True
        if at is None:
            return False
        day = at.astimezone(self.tz).date()
        return (low is None or day >= low) and (high is None or day <= high)

    def accepts(self, lead: Any) -> bool:
        """`lead`: anything with the lead item's attribute names (a LeadModel)."""
        def one_of(values: tuple[str, ...], value: str | None, fold_case: bool = False) -> bool:
            if not values:
                return True
            if value is None:
                return False
            return value.lower() in {v.lower() for v in values} if fold_case else value in values

        return (one_of(self.stages, lead.stage) and one_of(self.owners, lead.owner_id)
                and one_of(self.grades, lead.grade, True) and one_of(self.qualities, lead.quality)
                and one_of(self.sources, lead.source, True) and one_of(self.campaigns, lead.campaign, True)
                and one_of(self.countries, lead.country, True)
                and self._in_days(lead.created_at, self.created_from, self.created_to)
                and self._in_days(lead.stage_entered_at, self.stage_entered_from, self.stage_entered_to))

    def key(self) -> list:
        return [sorted(self.stages), sorted(self.owners), sorted(v.lower() for v in self.grades),
                sorted(self.qualities), sorted(v.lower() for v in self.sources),
                sorted(v.lower() for v in self.campaigns), sorted(v.upper() for v in self.countries),
                *[d.isoformat() if d else None for d in (self.created_from, self.created_to,
                                                         self.stage_entered_from, self.stage_entered_to)]]


class SortBy(str, Enum):
    SCORE = "score"
    CREATED = "created"
    SLA_DEADLINE = "sla_deadline"
    LAST_ACTIVITY = "last_activity"


def last_activity(lead: Any) -> datetime | None:
    """The last time something happened on the lead: a change a person would call an update
    (updated_at) or an engagement event that scored it (scored_at)."""
    times = [t for t in (lead.updated_at, lead.scored_at) if t is not None]
    return max(times) if times else None


def _sort_value(lead: Any, by: SortBy) -> float | None:
    if by is SortBy.SCORE:
        return None if lead.score_total is None else float(lead.score_total)
    if by is SortBy.CREATED:
        at = lead.created_at
    elif by is SortBy.SLA_DEADLINE:
        at = datetime.fromisoformat(lead.sla_due) if lead.sla_due else None
    else:
        at = last_activity(lead)
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp()


def rank(lead: Any, by: SortBy, descending: bool) -> tuple[int, float, str]:
    """The lead's place in the answer, ascending: leads without the value (no score, no SLA
    deadline) last, then by value in the asked direction, then by id (a total order for cursors)."""
    value = _sort_value(lead, by)
    if value is None:
        return (1, 0.0, lead.lead_id)
    return (0, -value if descending else value, lead.lead_id)


# --------------------------------------------------------------------------- cursor
def fingerprint(query_words: list[QueryWord], search_filter: SearchFilter, by: SortBy, descending: bool) -> str:
    """Names one search: a cursor is valid only for the search that made it."""
    text = json.dumps([[w.text for w in query_words], search_filter.key(), by.value, descending])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tag(payload: str, key: bytes) -> str:
    return hmac.new(key, f"search-cursor|{payload}".encode(), hashlib.sha256).hexdigest()[:24]


def encode_cursor(place: tuple[int, float, str], search: str, key: bytes) -> str:
    """The opaque cursor after `place` in the search `search`, signed with `key` (a server secret):
    a cursor nobody can edit or make up."""
    payload = json.dumps([list(place), search], separators=(",", ":"))
    return base64.urlsafe_b64encode(json.dumps({"p": payload, "t": _tag(payload, key)}).encode()).decode()


def decode_cursor(cursor: str | None, search: str, key: bytes) -> tuple[int, float, str] | None:
    """The place a page continues after; InvalidInput naming `after` for anything this search did
    not make (another search's cursor, an edited or made-up one)."""
    if cursor is None:
        return None
    refused = InvalidInput("not a cursor of this search; pass endCursor (or an edge's cursor) unchanged, with "
                           "the same query, filter and sort", field="after")
    if not isinstance(cursor, str) or not cursor or len(cursor) > 512:
        raise refused
    try:
        value = json.loads(base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True))
        if not (isinstance(value, dict) and set(value) == {"p", "t"} and isinstance(value["p"], str)
                and isinstance(value["t"], str) and hmac.compare_digest(value["t"], _tag(value["p"], key))):
            raise refused
        place, made_for = json.loads(value["p"])
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise refused from None
    if made_for != search:
        raise refused
    return (int(place[0]), float(place[1]), str(place[2]))
