"""searchLeads at volume: DynamoDB requests, read units and time per search with 100,000 stored leads.

In-process moto (mock_aws, provisioned from template.yaml, the emulator's fast DynamoDB). The leads
are written straight into moto's tables as an import does: each lead item with its by_owner/by_stage
keys and its search items exactly as the capture transaction writes them (domain.search.index_entries),
names drawn from common German surnames and first names (Müller, Schmidt, ... : the skew a real list
has) plus made-up ones, companies, emails, phones and postal codes. Then each search of SEARCHES runs
through the GraphQL handler (functions.graphql_api.handler) as its role, with every AWS request
counted (tests.bench.counting).

    python -m tests.bench.search [--leads 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

COMMON_LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
               "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
               "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
               "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann"]
FIRST = ["Anna", "Jürgen", "Petra", "Thomas", "Sabine", "Michael", "Andrea", "Stefan", "Julia", "Andreas",
         "Katrin", "Frank", "Monika", "Jörg", "Claudia", "Markus", "Birgit", "Uwe", "Sören", "Lea", "Ömer",
         "Zoë", "René", "Björn", "Ines", "Kai", "Li", "Noah", "Emma", "Finn"]
SYLLABLES = ["ka", "ro", "bel", "stein", "berg", "mann", "hau", "ler", "witz", "dorf", "lin", "gra", "vo",
             "sen", "ter", "mü", "bach", "hof", "kl", "ei", "ner", "lu", "sch", "ö", "zi", "ra", "fel", "ger"]
TRADES = ["Holzbau", "Logistik", "Maschinenbau", "Elektrotechnik", "Verpackung", "Software", "Metallbau",
          "Spedition", "Druckerei", "Anlagenbau", "Medizintechnik", "Kunststoff"]
FORMS = ["GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "SE"]
REPS = ["anna.becker", "jonas.wagner", "mehmet.yilmaz", "sophie.schulz", "lena.hoffmann"]
STAGES = ["LEAD"] * 6 + ["MQL", "SAL", "SQL", "OPPORTUNITY", "CUSTOMER", "LOST", "DISQUALIFIED", "RECYCLED"]
TARGET = {"first_name": "Zoë", "last_name": "Quandtmüller", "company": "Quandtmüller Präzisionsteile GmbH",
          "email": "zoe.quandtmueller@quandtmueller-praezision.de", "phone": "+49 7071 9876543",
          "postal_code": "72070", "country": "DE"}

# (label, role, user, query, filter, sort)
SEARCHES: list[tuple[str, str, str | None, str | None, dict | None, dict | None]] = [
    ("one rare surname, typed without umlaut", "admin", None, "quandtmuller", None, None),
    ("surname prefix + company word", "admin", None, "quandtm präzision", None, None),
    ("email prefix", "admin", None, "zoe.quandtm", None, None),
    ("phone as typed (national)", "admin", None, "07071 98765", None, None),
    ("common surname (Müller), sorted by score", "admin", None, "mueller", None, {"by": "SCORE"}),
    ("common surname + first name", "admin", None, "müller anna", None, None),
    ("3-letter prefix (capped: narrow the search)", "admin", None, "sch", None, None),
    ("rep: own leads by name", "sales_rep", "anna.becker", "schmidt", None, None),
    ("rep: own leads, no query, by SLA deadline", "sales_rep", "anna.becker", None, None, {"by": "SLA_DEADLINE"}),
    ("manager: a stage of the team", "sales_manager", "katrin.vogel", None, {"stages": ["MQL"]}, None),
    ("admin: stage + country filter, no query", "admin", None, None, {"stages": ["SQL"], "countries": ["DE"]}, None),
    ("finance: company name", "finance", None, "quandtmüller präz", None, None),
]
QUERY = """query($q: String, $f: LeadSearchFilter, $s: LeadSort) { searchLeads(query: $q, filter: $f, sort: $s,
  first: 20) { edges { id company node { id } } total complete } }"""


@dataclass
class SearchFigure:
    label: str
    role: str
    requests: int
    queries: int
    batch_gets: int
    scans: int
    rru: float
    cpu_ms: float  # our CPU in this process (moto's excluded); x3.5 at 512 MB on Lambda
    found: int
    complete: bool


def _name(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(COMMON_LAST)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _ascii(text: str) -> str:
    return (text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
            .replace("ë", "e").replace("é", "e").replace(" ", ""))


def _lead(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    last, first = _name(rng), rng.choice(FIRST)
    firm = f"{_name(rng)} {rng.choice(TRADES)}"
    stage = rng.choice(STAGES)
    created = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
    owned = stage not in ("LEAD", "DISQUALIFIED")
    return {
        "first_name": first, "last_name": last, "company": f"{firm} {rng.choice(FORMS)}",
        "email": f"{_ascii(first)}.{_ascii(last)}{n}@{_ascii(firm).replace(' ', '-')}.de",
        "phone": f"+49 {rng.randint(30, 9999)} {rng.randint(100000, 9999999)}",
        "postal_code": f"{rng.randint(1000, 99999):05d}", "country": rng.choice(["DE"] * 8 + ["AT", "CH"]),
        "stage": stage, "created_at": created, "owner_id": rng.choice(REPS) if owned else None,
        "score_total": rng.randint(0, 100), "grade": rng.choice(["hot", "normal", "cold"]),
        "source": rng.choice(["website", "fair", "webinar"]),
        "sla_due": (now + timedelta(hours=rng.randint(1, 48))).isoformat() if stage == "MQL" and owned else None,
    }


def _fill(leads: int) -> str:
    """Write `leads` leads and their search items into moto's tables; the target lead's id."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from infra.emulator import import_items
    from leadflow.domain.search import index_entries
    from leadflow.settings import get_settings
    from leadflow.store.models import LeadModel
    from tests.bench.volume import _lead_id

    settings = get_settings()
    backend = dynamodb_backends["123456789012"][settings.region]
    lead_table, search_table = backend.tables[settings.leads_table], backend.tables[settings.search_table]
    rng = random.Random(14)
    now = datetime.now(UTC)
    lead_items, search_items = [], []

    def item(table: Any, attrs: dict[str, Any]) -> Any:
        made = Item.__new__(Item)  # Item() checks the 400 KB limit once per attribute: slow in bulk
        made.attrs = LimitedSizeDict({k: DynamoType(v) for k, v in attrs.items()})
        made.hash_key = made.attrs[table.hash_key_attr]
        made.range_key = made.attrs[table.range_key_attr] if table.range_key_attr else None
        return made

    target_id = ""
    gc.disable()
    try:
        for n in range(leads):
            lead_id = _lead_id(rng)
            data = _lead(rng, n, now)
            if n == leads // 2:
                data.update(TARGET)
                target_id = lead_id
            stage_sort = f"{data['created_at'].isoformat(timespec='milliseconds')}#{lead_id}"
            model = LeadModel(lead_id, stage=data["stage"], stage_sort=stage_sort, stage_entered_at=data["created_at"],
                              created_at=data["created_at"], updated_at=data["created_at"], quality="plausible",
                              first_name=data["first_name"], last_name=data["last_name"], email=data["email"],
                              phone=data["phone"], company=data["company"], postal_code=data["postal_code"],
                              country=data["country"], source=data["source"], owner_id=data["owner_id"],
                              owner_sort=f"{data['stage']}#{stage_sort}" if data["owner_id"] else None,
                              score_total=data["score_total"], grade=data["grade"], sla_due=data["sla_due"],
                              team_id="inside-sales-dach" if data["owner_id"] else None)
            lead_items.append(item(lead_table, model.serialize()))
            for (pk, sk), codes in index_entries(lead_id, data).items():
                search_items.append(item(search_table, {"pk": {"S": pk}, "sk": {"S": sk}, "fields": {"S": codes}}))
        import_items(lead_table, lead_items)
        import_items(search_table, search_items)
    finally:
        gc.enable()
        gc.collect()
    print(f"stored {leads:,} leads and {len(search_items):,} search items "
          f"({len(search_items) / max(leads, 1):.1f} a lead)", file=sys.stderr)
    return target_id


def run(leads: int = 100_000) -> dict[str, Any]:
    from infra.emulator import fast_dynamodb
    from leadflow.runtime import reset_process_caches
    from tests.bench.counting import counting, moto_cpu, uninstall
    from tests.bench.harness import moto_stack
    from tests.helpers import LambdaContext, claims, http_event

    fast_dynamodb()
    with moto_stack():
        target = _fill(leads)
        from functions.graphql_api import handler

        figures: list[SearchFigure] = []
        try:
            for label, role, user, query, search_filter, sort in SEARCHES:
                event = http_event("POST", "/graphql", claims=claims(role, user), body={
                    "query": QUERY, "variables": {"q": query, "f": search_filter, "s": sort}})
                handler(event, LambdaContext())  # warm: the routing rules and keys read once per process
                with counting() as log:
                    moto_before, started = moto_cpu(), time.process_time()
                    answer = json.loads(handler(event, LambdaContext())["body"])
                    ms = (time.process_time() - started - (moto_cpu() - moto_before)) * 1000
                if answer.get("errors"):
                    raise RuntimeError(f"{label}: {answer['errors']}")
                result = answer["data"]["searchLeads"]
                if "quandt" in (query or "") and target not in [e["id"] for e in result["edges"]]:
                    raise RuntimeError(f"{label}: the target lead was not found")
                figures.append(SearchFigure(
                    label=label, role=role, requests=log.dynamodb, queries=log.count("dynamodb", "Query"),
                    batch_gets=log.count("dynamodb", "BatchGetItem"), scans=log.count("dynamodb", "Scan"),
                    rru=round(log.rru, 1), cpu_ms=round(ms, 1), found=result["total"], complete=result["complete"]))
        finally:
            uninstall()
            reset_process_caches()
    return {"leads": leads, "searches": [asdict(f) for f in figures],
            "max_requests": max(f.requests for f in figures), "scans": sum(f.scans for f in figures)}


def section(result: dict[str, Any]) -> list[str]:
    """Markdown for the bench report."""
    lines = [f"### searchLeads at {result['leads']:,} leads", "",
             "| search | role | DynamoDB requests | Query | BatchGetItem | Scan | read units | our CPU ms | found | complete |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for f in result["searches"]:
        lines.append(f"| {f['label']} | {f['role']} | {f['requests']} | {f['queries']} | {f['batch_gets']} | "
                     f"{f['scans']} | {f['rru']} | {f['cpu_ms']} | {f['found']} | {'yes' if f['complete'] else 'no'} |")
    lines += ["", f"At most {result['max_requests']} DynamoDB requests per search, {result['scans']} Scans."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args(argv)
    result = run(args.leads)
    print("\n".join(section(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
