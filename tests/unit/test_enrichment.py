"""Enrichment rules as shipped (config/enrichment.yaml, config/interests.yaml)."""

from __future__ import annotations

import pytest

from leadflow.domain.enrichment import EnrichmentRules, seniority_of
from leadflow.services.config import load_file


@pytest.fixture(scope="module")
def rules() -> EnrichmentRules:
    return EnrichmentRules.from_dict(load_file("enrichment"))


@pytest.mark.parametrize(("title", "level"), [
    # German compound titles: the head of the word decides
    ("Einkaufsleiterin", "director"),
    ("Vertriebsleiter", "director"),
    ("Bereichsleiterin Logistik", "director"),
    ("Lagerleiter", "director"),
    ("Logistikchefin", "director"),
    ("Marketingdirektorin", "director"),
    ("Geschäftsführerin", "executive"),
    ("Hauptgeschäftsführer", "executive"),
    ("Mitgründerin", "executive"),
    ("Vertriebsteamleiter", "manager"),  # the more specific head beats "leiter"
    ("Einkaufsmanagerin", "manager"),
    ("Zentraleinkäuferin", "manager"),
    ("Softwareentwicklerin", "professional"),
    ("Vertriebsmitarbeiter", "professional"),
    ("Maschinenbaustudentin", "student"),
    # separate words, as before
    ("Leiterin Einkauf", "director"),
    ("Head of Operations", "director"),
    ("Teamleiterin Disposition", "manager"),
    ("CTO", "executive"),
])
def test_seniority_recognises_german_compound_titles(rules, title, level):
    assert seniority_of(title, rules)[0] == level


def test_a_title_without_a_known_word_or_head_has_no_seniority(rules):
    assert seniority_of("Gärtnerin", rules) == (None, None)
    assert seniority_of("", rules) == (None, None)
