"""searchLeads (issue 14, point 1) and the team directory (point 7): found as a person types, in the
caller's scope, filtered, sorted, paged, with a bounded number of DynamoDB requests and no Scan."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import graphql

TEAM = {
    "version": 3, "timezone": "Europe/Berlin", "default_team": "north",
    "sla": {"accept_within_working_hours": 4,
            "working_hours": {"DE": {"start": "00:00", "end": "24:00", "days": [0, 1, 2, 3, 4, 5, 6],
                                     "timezone": "Europe/Berlin"}}},
    "teams": [
        {"id": "north", "name": "Nord", "office": "DE", "managers": [{"id": "boss", "name": "Bea Boss"}],
         "reps": [
             {"id": "rep-a", "name": "Anna Ahrens", "countries": ["DE"], "max_open": 50, "daily_quota": 10,
              "postal_ranges": [{"country": "DE", "from": "20000", "to": "29999"}], "skills": ["fleet"],
              "weight": 2,
              "out_of_office": [{"from": "2000-01-01", "to": "2099-12-31", "note": "Elternzeit"}]},
             {"id": "rep-b", "name": "Ben Brandt", "countries": ["DE"], "max_open": 50, "daily_quota": 10},
         ]},
        {"id": "south", "name": "Süd", "office": "DE", "managers": [{"id": "chief", "name": "Carl Chief"}],
         "reps": [{"id": "rep-x", "name": "Xenia Xu", "countries": ["AT"], "max_open": 50, "daily_quota": 10}]},
    ],
}

SEARCH = """query($q: String, $f: LeadSearchFilter, $s: LeadSort, $first: Int! = 20, $after: String) {
  searchLeads(query: $q, filter: $f, sort: $s, first: $first, after: $after) {
    edges { cursor id company node { id lastName ownerId } }
    pageInfo { hasNextPage endCursor } total complete notice } }"""


@pytest.fixture
def api(aws):
    from functions.graphql_api import handler
    from leadflow.services import config

    config.publish("routing", TEAM, author="admin-1")
    return handler


def new_lead(first: str, last: str, company: str | None = None, *, email: str | None = None,
             phone: str | None = None, postal_code: str | None = None, country: str = "DE", **fields) -> str:
    """A captured lead (its index items written with it), then `fields` set as a later change would."""
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import record
    from leadflow.store.leads import get_lead

    data = {"firstName": first, "lastName": last, "country": country,
            "email": email or f"{first}.{last}@example-{abs(hash((first, last, company))) % 10**6}.de".lower()}
    data.update({k: v for k, v in (("company", company), ("phone", phone), ("postalCode", postal_code)) if v})
    lead_id = capture_lead(parse_submission(data)).lead_id
    if fields:
        lead = get_lead(lead_id)
        if "owner_id" in fields:
            fields.setdefault("owner_sort", f"{lead.stage}#{lead.stage_sort}")
        record(lead, kind="test", actor="test", set_fields=fields)
    return lead_id


def search(api, query: str | None = None, *, role: str = "admin", user: str | None = None, **variables) -> dict:
    answer = graphql(api, SEARCH, {"q": query, **variables}, role=role, user=user)
    if answer.get("errors"):
        return {"errors": answer["errors"]}
    return answer["data"]["searchLeads"]


def ids(result: dict) -> list[str]:
    assert "errors" not in result, result
    return [edge["id"] for edge in result["edges"]]


def test_a_lead_is_found_by_prefix_whatever_the_case_and_accents(api):
    mueller = new_lead("Jürgen", "Müller", "Lindner Holzbau GmbH", email="j.mueller@lindner-holzbau.de",
                       phone="+49 89 1234567", postal_code="80331")
    mahler = new_lead("Jana", "Mahler", "Straßburger Öfen AG", postal_code="10115")
    li = new_lead("Li", "Wei", "Wei Trading")

    for query in ("müller", "Mueller", "MULLER", "müll", "mue", "jürgen müller", "Juergen", "jurg",
                  "lindner holz", "Lindner-Holzbau", "j.mueller@lind", "lindner-holzbau.de",
                  "+49 89 123", "089 1234567", "0049 89 1234567", "80331", "803", "mül 803"):
        assert ids(search(api, query)) == [mueller], query
    assert ids(search(api, "strassburger")) == [mahler]  # ß = ss
    assert ids(search(api, "Straßb Öfen")) == [mahler]
    assert ids(search(api, "li")) == [li]  # two letters: the whole word, not Lindner
    assert ids(search(api, "müller mahler")) == []  # every word must match
    assert ids(search(api, "schmidt")) == []


def test_each_filter_narrows_the_answer(api):
    day = timedelta(days=1)
    now = datetime.now(UTC)
    a = new_lead("Emil", "Kranz", "Kranz Logistik", owner_id="rep-a", grade="hot", score_total=80,
                 source="webinar", campaign="spring", stage_entered_at=now - 10 * day)
    b = new_lead("Erik", "Kranz", "Kranz Logistik", owner_id="rep-b", grade="cold", score_total=10,
                 source="fair", campaign="autumn", quality="plausible", created_at=now - 40 * day)
    c = new_lead("Elke", "Kranz", "Kranz Logistik", country="AT", stage="MQL", stage_sort="x",
                 source="webinar")

    def found(**f) -> set[str]:
        return set(ids(search(api, "kranz", f=f)))

    assert found() == {a, b, c}
    assert found(stages=["MQL"]) == {c}
    assert found(owners=["rep-a", "rep-b"]) == {a, b}
    assert found(grades=["HOT"]) == {a}
    assert found(qualities=["PLAUSIBLE"]) == {b}
    assert found(sources=["webinar"]) == {a, c}
    assert found(campaigns=["autumn"]) == {b}
    assert found(countries=["at"]) == {c}
    assert found(createdTo=(now - 30 * day).date().isoformat()) == {b}
    assert found(createdFrom=(now - day).date().isoformat()) == {a, c}
    assert found(stageEnteredFrom=(now - 11 * day).date().isoformat(),
                 stageEnteredTo=(now - 9 * day).date().isoformat()) == {a}
    assert found(sources=["webinar"], countries=["DE"]) == {a}
    bad = search(api, "kranz", f={"createdFrom": "2026-05-02", "createdTo": "2026-05-01"})["errors"][0]
    assert bad["extensions"]["field"] == "filter.createdFrom" and "is after" in bad["message"]
    # without a query: the owners' or the stages' index is the source
    assert set(ids(search(api, None, f={"owners": ["rep-b"]}))) == {b}
    assert set(ids(search(api, None, f={"stages": ["MQL"]}))) == {c}
    refused = search(api, None, f={"grades": ["hot"]})["errors"][0]
    assert refused["extensions"]["code"] == "invalid_input" and refused["extensions"]["field"] == "query"


def test_each_sort_orders_the_answer(api):
    now = datetime.now(UTC)
    old = new_lead("Ida", "Sorter", created_at=now - timedelta(days=30), score_total=50,
                   sla_due=(now + timedelta(hours=5)).isoformat())
    mid = new_lead("Ina", "Sorter", created_at=now - timedelta(days=20), score_total=90,
                   sla_due=(now + timedelta(hours=1)).isoformat())
    new = new_lead("Iris", "Sorter", created_at=now - timedelta(days=10))  # no score, no SLA deadline

    def order(by: str, direction: str | None = None) -> list[str]:
        return ids(search(api, "sorter", s={"by": by, **({"direction": direction} if direction else {})}))

    assert order("CREATED") == [new, mid, old]
    assert order("CREATED", "ASC") == [old, mid, new]
    assert order("SCORE") == [mid, old, new]  # no score: last
    assert order("SLA_DEADLINE") == [mid, old, new]  # the nearest deadline first
    from leadflow.services.lifecycle import record
    from leadflow.store.leads import get_lead

    record(get_lead(old), kind="test", actor="test", set_fields={"job_title": "CFO"})  # the latest update
    assert order("LAST_ACTIVITY")[0] == old


def test_pages_follow_the_cursor_and_a_forged_cursor_is_refused(api):
    made = [new_lead(f"Paul{n}", "Pager", created_at=datetime.now(UTC) - timedelta(days=n)) for n in range(5)]
    first = search(api, "pager", first=2)
    assert ids(first) == made[:2] and first["pageInfo"]["hasNextPage"] and first["total"] == 5
    second = search(api, "pager", first=2, after=first["pageInfo"]["endCursor"])
    assert ids(second) == made[2:4]
    third = search(api, "pager", first=2, after=second["edges"][-1]["cursor"])
    assert ids(third) == made[4:] and not third["pageInfo"]["hasNextPage"] and third["pageInfo"]["endCursor"] is None

    cursor = first["pageInfo"]["endCursor"]
    forged = json.loads(base64.urlsafe_b64decode(cursor))
    forged["p"] = forged["p"].replace(made[1], made[3])  # skip a lead: the signature no longer fits
    for bad in ("not-a-cursor", base64.urlsafe_b64encode(json.dumps(forged).encode()).decode(), "x" * 600):
        error = search(api, "pager", first=2, after=bad)["errors"][0]
        assert error["extensions"] == {"code": "invalid_input", "rule": "invalid_input", "field": "after"}
        assert "not a cursor of this search" in error["message"]
    other_search = search(api, "paul0 pager", first=2, after=cursor)["errors"][0]  # another search's cursor
    assert other_search["extensions"]["field"] == "after"


def test_each_role_finds_only_what_it_may(api):
    mine = new_lead("Rita", "Scope", "Scope Maschinen", owner_id="rep-a", team_id="north")
    colleague = new_lead("Rolf", "Scope", "Scope Maschinen", owner_id="rep-b", team_id="north")
    other_team = new_lead("Rosa", "Scope", "Scope Maschinen", owner_id="rep-x", team_id="south")

    assert ids(search(api, "scope", role="sales_rep", user="rep-a")) == [mine]
    assert ids(search(api, None, role="sales_rep", user="rep-a")) == [mine]  # no query: their own leads
    refused = search(api, "scope", role="sales_rep", user="rep-a", f={"owners": ["rep-b"]})["errors"][0]
    assert refused["extensions"]["code"] == "not_permitted" and refused["extensions"]["field"] == "filter.owners"
    assert set(ids(search(api, "scope", role="sales_manager", user="boss"))) == {mine, colleague}
    assert ids(search(api, "scope", role="sales_manager", user="chief")) == [other_team]
    assert set(ids(search(api, "scope", role="marketing"))) == {mine, colleague, other_team}

    finance = search(api, "scope masch", role="finance")
    assert {e["id"] for e in finance["edges"]} == {mine, colleague, other_team}
    assert all(e["company"] == "Scope Maschinen" and e["node"] is None for e in finance["edges"])
    assert ids(search(api, "rita", role="finance")) == []  # a person's name finds nothing for finance
    assert ids(search(api, "rita.scope@", role="finance")) == []


def test_erasure_and_correction_keep_the_index_true(api):
    from leadflow.domain.access import Principal, Role
    from leadflow.services.privacy import erase_person
    from leadflow.services.review import correct_lead
    from leadflow.store.models import SearchModel

    def items_of(lead_id: str) -> list[str]:
        return sorted(i.sk for i in SearchModel.scan() if i.sk.endswith(f"#{lead_id}"))

    lead_id = new_lead("Greta", "Lindner", "Lindner Holz", email="greta@lindner-holz.de", phone="+49 30 1234567",
                       postal_code="10115")
    assert "greta#" + lead_id in items_of(lead_id) and len(items_of(lead_id)) >= 8

    correct_lead(Principal("mk-1", Role.MARKETING), lead_id, {"lastName": "Lindgren"})
    assert ids(search(api, "lindgren")) == [lead_id]
    assert ids(search(api, "greta lindner")) == [lead_id]  # still the company
    assert f"lindgren#{lead_id}" in items_of(lead_id)

    erase_person(lead_id, actor="admin-1")
    assert items_of(lead_id) == []
    assert ids(search(api, "greta")) == [] and ids(search(api, "lindner")) == []


def test_a_search_costs_a_bounded_number_of_requests_and_says_when_it_was_capped(api, monkeypatch):
    from leadflow.domain.search import INDEX_SHARDS
    from leadflow.services import search as search_service
    from tests.bench.counting import counting, uninstall

    target = new_lead("Vera", "Volkmann", "Volkmann Verpackung")
    for n in range(12):
        new_lead(f"Valentin{n}", "Vogt", "Vogt Verpackung")
    try:
        with counting() as log:
            assert ids(search(api, "volkmann verpackung")) == [target]
        assert log.count("dynamodb", "Scan") == 0
        # the longest word ("verpackung", 13 leads) is looked up first, a Query per index shard;
        # "volkmann" (1 lead) is checked in memory; one BatchGetItem
        assert log.count("dynamodb", "Query") <= 2 * INDEX_SHARDS and log.count("dynamodb", "BatchGetItem") == 1
        assert log.dynamodb <= 2 * INDEX_SHARDS + 5, [c.label for c in log.calls]

        monkeypatch.setattr(search_service, "CANDIDATE_CAP", 5)
        with counting() as log:
            capped = search(api, "vogt")
        assert not capped["complete"] and "narrow the search" in capped["notice"] and capped["total"] <= 5
        assert log.count("dynamodb", "Scan") == 0 and log.dynamodb <= INDEX_SHARDS + 2
    finally:
        uninstall()


def test_the_index_is_rebuilt_for_leads_stored_without_it(api, capsys):
    from leadflow.cli import main
    from leadflow.store.models import SearchModel

    lead_id = new_lead("Oskar", "Altbestand", "Altbestand Archiv")
    with SearchModel.batch_write() as batch:  # as if stored before the index existed
        for item in SearchModel.scan():
            batch.delete(item)
    assert ids(search(api, "altbestand")) == []
    assert main(["search", "rebuild", "--aws"]) == 0
    assert "items written for 1 leads" in capsys.readouterr().out
    assert ids(search(api, "altbestand oskar")) == [lead_id]


DIRECTORY = """{ viewer { userId role name teamIds }
  team { rulesVersion teams { id name managers { id name } reps { id name } }
         reps { id name teamId managerId countries postalRanges { country from to } skills availableToday
                awayReason absences { from to note } weight } managers { id name } } }"""


def test_every_role_reads_the_team_directory_planners_see_more(api):
    as_finance = graphql(api, DIRECTORY, role="finance")["data"]
    assert as_finance["viewer"] == {"userId": "finance-1", "role": "finance", "name": None, "teamIds": []}
    team = as_finance["team"]
    # the shipped rules are version 1, the fixture publishes version 2
    assert team["rulesVersion"] == "2" and [t["id"] for t in team["teams"]] == ["north", "south"]
    assert [r["name"] for r in team["reps"]] == ["Anna Ahrens", "Ben Brandt", "Xenia Xu"]
    anna = team["reps"][0]
    assert anna["teamId"] == "north" and anna["managerId"] == "boss" and anna["skills"] == ["fleet"]
    assert anna["postalRanges"] == [{"country": "DE", "from": "20000", "to": "29999"}]
    assert not anna["availableToday"] and anna["awayReason"] == "out of office until 2099-12-31"
    assert anna["absences"] == [{"from": "2000-01-01", "to": "2099-12-31", "note": None}]  # the reason: planners
    assert anna["weight"] is None
    assert [m["name"] for m in team["managers"]] == ["Bea Boss", "Carl Chief"]

    as_manager = graphql(api, DIRECTORY, role="sales_manager", user="boss")["data"]
    assert as_manager["viewer"] == {"userId": "boss", "role": "sales_manager", "name": "Bea Boss",
                                    "teamIds": ["north"]}
    assert as_manager["team"]["reps"][0]["absences"][0]["note"] == "Elternzeit"
    assert as_manager["team"]["reps"][0]["weight"] == 2

    as_rep = graphql(api, DIRECTORY, role="sales_rep", user="rep-x")["data"]
    assert as_rep["viewer"] == {"userId": "rep-x", "role": "sales_rep", "name": "Xenia Xu", "teamIds": ["south"]}
    for role in ("marketing", "admin"):
        assert not graphql(api, DIRECTORY, role=role).get("errors")
    # managing the team stays the admins' publishConfig
    publish = graphql(api, 'mutation { publishConfig(name: "routing", document: {}) { version } }',
                      role="sales_manager", user="boss")
    assert publish["errors"][0]["extensions"]["code"] == "not_permitted"
