"""Places and countries from the committed GeoNames index (`leadflow/data/cities.tsv.gz`).

The index is loaded lazily, once per process, on the first check that needs
it: ~1.5 MB gzip, ~0.1 s, ~35 MB in memory, as a sorted list searched by
bisection (no dict of 285,000 entries to build at cold start). See
`scripts/build_city_index.py` for what is in it and why.
"""

from __future__ import annotations

import gzip
import json
import os
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

INDEX_PATH = Path(__file__).resolve().parents[2] / "data" / "cities.tsv.gz"


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    postal_regex: str
    tld: str


class Place(NamedTuple):
    population_class: int  # floor(log10(population)) of the largest such place
    main_name: bool  # False when the name is only an alternate name there (Munich)
    regions: frozenset[str] = frozenset()  # GeoNames admin1 codes (DE and AT only)


def _place(item: str) -> tuple[str, Place]:
    """`DE6:02.09` -> ("DE", Place(6, True, {"02", "09"}))."""
    head, _, regions = item.partition(":")
    return head[:2].upper(), Place(int(head[2:]), head[0].isupper(), frozenset(regions.split(".")) - {""})


class PlaceIndex:
    def __init__(self, header: dict, lines: list[str]):
        self.header = header
        self._lines = lines  # "key\tCCp,CCp" sorted by key
        self.countries = {
            code: Country(code, facts.get("name", ""), facts.get("postal", ""), facts.get("tld", ""))
            for code, facts in header.get("countries", {}).items()
        }

    @classmethod
    def load(cls, path: Path = INDEX_PATH) -> PlaceIndex:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
            lines = fh.read().splitlines()
        return cls(header, lines)

    def lookup(self, key: str) -> dict[str, Place]:
        """Countries that have a place called `key` (folded), with its size."""
        probe = key + "\t"
        i = bisect_left(self._lines, probe)
        if i < len(self._lines) and self._lines[i].startswith(probe):
            value = self._lines[i][len(probe):]
            return dict(_place(item) for item in value.split(","))
        return {}

    def names_starting_with(self, prefix: str, country: str) -> list[str]:
        """Folded names of `country` that start with `prefix` (typos rarely hit the first letters)."""
        lo = bisect_left(self._lines, prefix)
        hi = bisect_left(self._lines, prefix + "\uffff")
        tags = ("\t" + country, "," + country, "\t" + country.lower(), "," + country.lower())
        return [line.split("\t", 1)[0] for line in self._lines[lo:hi] if any(tag in line for tag in tags)]


_index: PlaceIndex | None = None


def place_index() -> PlaceIndex:
    global _index
    if _index is None:
        _index = PlaceIndex.load(Path(os.environ.get("LEADFLOW_CITY_INDEX", INDEX_PATH)))
    return _index
