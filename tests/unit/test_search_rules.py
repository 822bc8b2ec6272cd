"""The search's pure rules (domain/search.py): normalising, tokens and index keys, query words,
matching, the signed cursor."""

from __future__ import annotations

import base64
import json

import pytest

from leadflow.domain import search as rules
from leadflow.domain.errors import InvalidInput
from leadflow.domain.search import (
    MAX_TOKENS,
    SearchFilter,
    decode_cursor,
    encode_cursor,
    fold,
    index_entries,
    lead_matches,
    parse_query,
)

LEAD = {"first_name": "Jürgen", "last_name": "Müller-Lüdenscheidt", "company": "Straßburger Öfen GmbH & Co. KG",
        "email": "J.Mueller@Oefen-Strassburg.de", "phone": "+49 89 1234567", "postal_code": "80331", "country": "DE"}
KEY = b"k" * 32


def test_umlauts_are_found_both_ways_and_accents_ignored():
    assert fold("Müller") == "mueller" and fold("Müller", german=False) == "muller"
    assert fold("Straße") == "strasse" and fold("René") == "rene"
    for query in ("Müller", "MUELLER", "muller", "lüdensch", "ludensch", "strassb", "öfen", "oefen", "jurg"):
        assert lead_matches(parse_query(query), LEAD), query
    assert not lead_matches(parse_query("mahler"), LEAD)


def test_each_field_is_found_by_its_prefix():
    for query in ("j.mueller@oef", "oefen-strassburg.de", "+49 89 12345", "089 1234567", "0049891234", "803"):
        assert lead_matches(parse_query(query), LEAD), query
    assert not lead_matches(parse_query("090 1234"), LEAD)


def test_short_words_match_whole_words_and_legal_forms_are_not_indexed():
    li = {"first_name": "Li", "last_name": "Wei"}
    assert lead_matches(parse_query("li"), li) and not lead_matches(parse_query("li"), {"last_name": "Lindner"})
    sort_keys = {sk.split("#")[0] for _, sk in index_entries("L1", LEAD)}
    assert not sort_keys & {"gmbh", "co", "kg"}
    assert {"mueller", "muller", "juergen", "jurgen", "80331", "49891234567", "0891234567"} <= sort_keys


def test_index_keys_spread_by_prefix_and_stay_bounded():
    entries = index_entries("L1", LEAD)
    shard = rules.shard_of("L1")
    assert (f"t#mue#{shard}", "mueller#L1") in entries and "n" in entries[(f"t#mue#{shard}", "mueller#L1")]
    assert (f"p#498912#{shard}", "49891234567#L1") in entries  # phones: six digits, their prefixes are few
    assert all(sk.endswith("#L1") for _, sk in entries)  # no item shared by two leads
    # a word every lead shares lands in INDEX_SHARDS partitions, spread by the lead
    spread = {p for n in range(200) for p, sk in index_entries(f"L{n}", LEAD) if sk.startswith("mueller#")}
    assert spread == {f"t#mue#{n}" for n in range(rules.INDEX_SHARDS)}
    long = {"company": " ".join(f"firma{n}" for n in range(80))}
    assert len(index_entries("L2", long)) == MAX_TOKENS  # a transaction has room for old + new


def test_finance_matches_company_words_only():
    assert lead_matches(parse_query("strassb"), LEAD, codes=("c",))
    assert not lead_matches(parse_query("juergen"), LEAD, codes=("c",))


def test_a_cursor_is_signed_and_belongs_to_its_search():
    cursor = encode_cursor((0, -5.0, "L1"), "search-a", KEY)
    assert decode_cursor(cursor, "search-a", KEY) == (0, -5.0, "L1")
    body = json.loads(base64.urlsafe_b64decode(cursor))
    body["p"] = body["p"].replace("L1", "L9")
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    for bad, search in ((cursor, "search-b"), (forged, "search-a"), ("%%%", "search-a"), ("e30=", "search-a")):
        with pytest.raises(InvalidInput) as refused:
            decode_cursor(bad, search, KEY)
        assert refused.value.field == "after"
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, "search-a", b"another key")


def test_a_filter_names_the_field_it_refuses():
    with pytest.raises(InvalidInput) as refused:
        SearchFilter(countries=("Germany",)).check()
    assert refused.value.field == "filter.countries"
    with pytest.raises(InvalidInput) as refused:
        parse_query("x" * 201)
    assert refused.value.field == "query"
