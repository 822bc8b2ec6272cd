"""GraphQL cost: DynamoDB requests of a page of leads with nested lists, and the refused attack.

Leads are written straight into the tables (a lead in stage LEAD with a few history entries,
engagement events, a consent ledger, a journey state and a possible-duplicate link): what a
console page reads, without running the pipeline for each. The queries go through the real
GraphQL handler (functions.graphql_api) as an admin; the requests are counted by counting.py.

    python -m tests.bench.graphql_cost   (prints the figures; `make bench` puts them in docs/benchmarks.md)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.bench.counting import counting

HISTORY, EVENTS = 4, 10

CONSOLE = """query($first: Int!) { leads(stage: LEAD, first: $first) { edges { node {
  id firstName lastName company stage score { total grade }
  history { seq toStage at actor reason } timeline(first: 20) { type at } } } } }"""

NESTED = """query($first: Int!) { leads(stage: LEAD, first: $first) { edges { node {
  id firstName lastName company stage
  history { seq toStage at actor reason } timeline(first: 20) { type at }
  consents { purpose status givenAt } journey { journeyId emailStatus runs { stepId outcome } }
  possibleDuplicates } } } }"""

# The attack of issue 12: 15 aliases x 100 leads x 4 nested lists.
ATTACK = "{ " + " ".join(
    f"a{i}: leads(stage: LEAD, first: 100) {{ edges {{ node {{ id history {{ seq }} timeline(first: 100) {{ type }} "
    "consents { purpose } journey { journeyId } } } }" for i in range(15)) + " }"


def seed(n: int, *, prefix: str = "benchlead") -> list[str]:
    """n leads in stage LEAD, newest last, each with its nested data; returns their ids."""
    from leadflow.domain.consent import ConsentRecord, ConsentStatus, Purpose
    from leadflow.store import directory
    from leadflow.store.models import HistoryModel, LeadModel, NurtureModel, TimelineModel

    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    with LeadModel.batch_write() as leads, HistoryModel.batch_write() as history, \
            TimelineModel.batch_write() as timeline, NurtureModel.batch_write() as nurture:
        for i in range(n):
            lead_id = f"{prefix}{i:05d}"
            at = now - timedelta(minutes=n - i)
            ids.append(lead_id)
            leads.save(LeadModel(lead_id, version=HISTORY, stage="LEAD", stage_sort=f"{at.isoformat()}#{lead_id}",
                                 stage_entered_at=at, quality="plausible", created_at=at, updated_at=at,
                                 first_name="Anna", last_name=f"Muster{i}", email=f"anna{i}@example.com",
                                 company=f"Firma {i} GmbH", country="DE"))
            for seq in range(1, HISTORY + 1):
                history.save(HistoryModel(lead_id, seq, kind="quality" if seq > 1 else "stage",
                                          to_stage="LEAD" if seq == 1 else None, at=at, actor="system:bench",
                                          reason="captured" if seq == 1 else "checked"))
            for e in range(EVENTS):
                stamp = at + timedelta(seconds=e)
                timeline.save(TimelineModel(lead_id, f"{stamp.isoformat()}#e{e}", event_type="page_visit",
                                            at=stamp, details={"url": f"https://www.example.com/p{e}"}))
            record = ConsentRecord(lead_id=lead_id, purpose=Purpose.EMAIL_MARKETING, status=ConsentStatus.CONFIRMED,
                                   text_version="v1", text_hash="h", language="de", form_id="contact", given_at=at,
                                   confirmed_at=at)
            nurture.save(NurtureModel(f"lead#{lead_id}", "consent", data={"records": [record.to_dict()]}))
            nurture.save(NurtureModel(f"lead#{lead_id}", "journey", data={
                "journey_id": "welcome", "entered_at": at.isoformat(),
                "runs": [{"step_id": "welcome", "at": at.isoformat(), "outcome": "sent", "channel": "email"}]}))
    for lead_id in ids[::10]:  # every tenth lead has a possible duplicate
        directory.add_refs([f"dupof#{lead_id}"], f"lead#{lead_id}-dup")
    return ids


@dataclass
class Figures:
    leads: int
    console_requests: int
    console_kinds: dict[str, int]
    nested_requests: int
    nested_kinds: dict[str, int]
    attack_ms: float
    attack_error: str


def _gql(query: str, variables: dict | None = None) -> dict:
    from tests.bench.harness import gql

    return gql(query, variables, role="admin")


def measure(leads: int = 50) -> Figures:
    """Run inside a moto stack with at least `leads` seeded leads in stage LEAD."""
    _gql(CONSOLE, {"first": 1})  # imports and clients: not counted
    with counting() as console:
        answer = _gql(CONSOLE, {"first": leads})
    assert not answer.get("errors") and len(answer["data"]["leads"]["edges"]) == leads, answer.get("errors")
    with counting() as nested:
        answer = _gql(NESTED, {"first": leads})
    assert not answer.get("errors"), answer["errors"]
    started = time.perf_counter()
    with counting() as attack:
        refused = _gql(ATTACK)
    attack_ms = 1000 * (time.perf_counter() - started)
    error = (refused.get("errors") or [{}])[0].get("message", "")
    if attack.dynamodb or "query cost" not in error:
        error = f"NOT REFUSED: {attack.dynamodb} DynamoDB requests, {error[:100]}"
    return Figures(leads, console.dynamodb, dict(console.kinds()), nested.dynamodb, dict(nested.kinds()),
                   attack_ms, error)


def run(leads: int = 50) -> Figures:
    from tests.bench import harness

    with harness.moto_stack():
        seed(max(leads, 100))
        return measure(leads)


def lines(f: Figures) -> list[str]:
    from tests.bench.run import table

    def kinds(k: dict[str, int]) -> str:
        return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in sorted(k.items()))

    return [
        "## 5. GraphQL: a page of leads with nested lists, and the cost limit", "",
        f"A page of {f.leads} leads (`leads(stage: LEAD, first: {f.leads})`, an admin, through the GraphQL handler on",
        "in-process moto; tests/bench/graphql_cost.py). The nested lists load through per-request DataLoaders",
        "(api/context.py): consents and journeys of the whole page in one BatchGetItem; history, timeline and",
        "possible duplicates stay one Query per lead (DynamoDB has no Query across partitions). Without the",
        "loaders every nested list is one request per lead: the console page 1 + 2 × "
        f"{f.leads} = {1 + 2 * f.leads} requests, all five lists 1 + 5 × {f.leads} = {1 + 5 * f.leads} (measured on the "
        "code before them).", "",
        *table(
            ["query", "DynamoDB requests", "kinds"],
            [["console page: history + timeline", str(f.console_requests), kinds(f.console_kinds)],
             ["all nested lists: + consents, journey, possibleDuplicates", str(f.nested_requests),
              kinds(f.nested_kinds)]], "lrl"),
        "",
        "The attack of issue 12 (15 aliases × `leads(first: 100)` × history, timeline, consents, journey) is",
        f"refused before any read in **{f.attack_ms:.0f} ms** (0 DynamoDB requests): \"{f.attack_error[:160]}…\"",
        "(cost model: docs/api.md, \"GraphQL query cost\").", ""]


if __name__ == "__main__":
    print("\n".join(lines(run())))
