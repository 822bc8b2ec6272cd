"""Bulk actions (issue 14 point 6): a manager reassigns or rejects a selection in one call,
marketing releases or rejects several review-queue leads; each lead gets its own history entry,
counters stay right, and what was refused is reported per lead with its rule."""

from __future__ import annotations

import pytest

from tests.helpers import graphql
from tests.integration.test_qualification import GENUINE, capture, drain_intake
from tests.integration.test_routing_sales import TEAM, lead, new_mql, route

UNKNOWN = "01nosuchlead0000000000000"
RESULT = "{ succeeded failed { id code rule message field } }"


@pytest.fixture
def team(aws):
    from leadflow.services import config

    config.publish("routing", TEAM, author="admin-1")
    return TEAM


def gql(query: str, variables: dict, role: str, user: str | None = None) -> dict:
    from functions.graphql_api import handler

    return graphql(handler, query, variables, role=role, user=user)


def test_a_manager_reassigns_a_selection_and_each_refusal_names_its_lead_and_rule(team):
    from leadflow.services.controlling import reconcile
    from leadflow.store.leads import history_of

    leads = [new_mql(n) for n in range(3)]
    route(*leads)
    target = next(r for r in ("rep-a", "rep-b", "rep-c") if all(lead(i).owner_id != r for i in leads[:2]))
    already = lead(leads[2]).owner_id
    selection = [leads[0], leads[1], leads[0], UNKNOWN] + ([leads[2]] if already == target else [])
    result = gql("mutation($ids: [ID!]!, $rep: String!) { bulkReassign(ids: $ids, repId: $rep, "
                 f'reason: "holiday cover") {RESULT} }}', {"ids": selection, "rep": target},
                 role="sales_manager", user="boss")
    answer = result["data"]["bulkReassign"]
    assert answer["succeeded"] == [leads[0], leads[1]]  # in the order given, each once
    assert answer["failed"][0] == {"id": UNKNOWN, "code": "not_found", "rule": "not_found",
                                   "message": f"no such lead: {UNKNOWN}", "field": "id"}
    for lead_id in leads[:2]:
        assert lead(lead_id).owner_id == target
        entries = [h for h in history_of(lead_id) if h.kind == "assignment"]
        assert entries[-1].reason == "reassigned by boss: holiday cover"
    assert reconcile(None, None).drift == []


def test_a_manager_bulk_rejects_back_to_nurturing_and_counters_follow(team):
    from leadflow.services.controlling import reconcile

    leads = [new_mql(n) for n in range(10, 13)]
    route(*leads)
    result = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "no budget this year") {RESULT} }}',
                 {"ids": leads}, role="sales_manager", user="boss")
    assert result["data"]["bulkReject"] == {"succeeded": leads, "failed": []}
    assert {lead(i).stage for i in leads} == {"RECYCLED"}
    again = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "twice") {RESULT} }}',
                {"ids": leads[:1]}, role="sales_manager", user="boss")["data"]["bulkReject"]
    assert again["succeeded"] == [] and again["failed"][0]["code"] == "invalid_state"
    assert "cannot be rejected" in again["failed"][0]["message"]
    assert reconcile(None, None).drift == []


def test_marketing_releases_and_rejects_several_review_queue_leads(aws):
    def uk_phone(first: str, n: int) -> str:  # German lead with a British phone: a person decides
        return capture({**GENUINE, "email": f"{first.lower()}@{first.lower()}-handel.de", "firstName": first,
                        "lastName": "Nordmann", "company": f"{first} Handel", "phone": f"+44 20 3318 09{n}"})

    in_review = [uk_phone(name, n) for name, n in (("Olaf", 61), ("Ute", 62), ("Ali", 63), ("Ina", 64))]
    drain_intake(aws)
    released = gql(f'mutation($ids: [ID!]!) {{ bulkRelease(ids: $ids, reason: "known customers") {RESULT} }}',
                   {"ids": in_review[:2]}, role="marketing", user="mia")["data"]["bulkRelease"]
    assert released == {"succeeded": in_review[:2], "failed": []}
    assert {lead(i).quality for i in in_review[:2]} == {"plausible"}
    rejected = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "fake companies") {RESULT} }}',
                   {"ids": in_review[2:] + in_review[:1]}, role="marketing", user="mia")["data"]["bulkReject"]
    assert rejected["succeeded"] == in_review[2:]
    assert {lead(i).stage for i in in_review[2:]} == {"DISQUALIFIED"}
    refused = rejected["failed"][0]  # released a moment ago: no longer in the queue
    assert refused["id"] == in_review[0] and refused["code"] == "invalid_state"
    assert "review queue" in refused["message"]


def test_bulk_actions_are_for_their_roles_and_refuse_empty_or_oversized_selections(team):
    rep = gql(f'mutation {{ bulkReassign(ids: ["x"], repId: "rep-a", reason: "r") {RESULT} }}', {},
              role="sales_rep", user="rep-a")
    assert rep["data"] is None and "only these roles" in rep["errors"][0]["message"]
    finance = gql(f'mutation {{ bulkRelease(ids: ["x"]) {RESULT} }}', {}, role="finance")
    assert "only these roles" in finance["errors"][0]["message"]
    empty = gql(f'mutation {{ bulkReject(ids: [], reason: "r") {RESULT} }}', {}, role="sales_manager", user="boss")
    assert empty["errors"][0]["extensions"] == {"code": "invalid_input", "rule": "invalid_input", "field": "ids"}
    many = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "r") {RESULT} }}',
               {"ids": [f"id{n}" for n in range(51)]}, role="sales_manager", user="boss")
    assert "at most 50 leads per call (51 selected)" in many["errors"][0]["message"]
    fifty = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "r") {RESULT} }}',
                {"ids": [f"id{n}" for n in range(50)]}, role="sales_manager", user="boss")["data"]["bulkReject"]
    assert len(fifty["failed"]) == 50 and fifty["failed"][0]["code"] == "not_found"  # within the cost limit


def test_another_teams_lead_in_a_managers_selection_is_reported_as_unknown(team):
    from leadflow.services import config

    other_team = {**TEAM, "version": 8, "teams": TEAM["teams"] + [{
        "id": "t2", "name": "Field sales", "office": "DE", "managers": [{"id": "chef", "name": "C Chef"}],
        "reps": [{"id": "rep-x", "name": "X", "countries": ["AT"], "weight": 1, "max_open": 50,
                  "daily_quota": 50}]}]}
    config.publish("routing", other_team, author="admin-1")
    ours = new_mql(20)
    route(ours)
    result = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "not mine") {RESULT} }}',
                 {"ids": [ours]}, role="sales_manager", user="chef")["data"]["bulkReject"]
    assert result["succeeded"] == []
    assert result["failed"][0]["message"] == f"no such lead: {ours}"  # another team's lead stays invisible
    assert lead(ours).stage == "MQL"


def test_a_throttled_lead_is_reported_as_unavailable_and_the_others_go_on(team, monkeypatch):
    from botocore.exceptions import ClientError

    from leadflow.services import sales

    leads = [new_mql(n) for n in range(30, 33)]
    route(*leads)
    real = sales.reject_lead

    def throttled_for_the_second(principal, lead_id, *args, **kwargs):
        if lead_id == leads[1]:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "TransactWriteItems")
        return real(principal, lead_id, *args, **kwargs)

    monkeypatch.setattr(sales, "reject_lead", throttled_for_the_second)
    result = gql(f'mutation($ids: [ID!]!) {{ bulkReject(ids: $ids, reason: "no budget") {RESULT} }}',
                 {"ids": leads}, role="sales_manager", user="boss")["data"]["bulkReject"]
    assert result["succeeded"] == [leads[0], leads[2]]
    assert result["failed"] == [{"id": leads[1], "code": "unavailable", "rule": "temporarily_unavailable",
                                 "message": "could not be stored just now; try this lead again", "field": None}]
    assert lead(leads[1]).stage == "MQL"  # nothing half-written; the text names no internals


def test_a_manager_selects_by_search_and_a_too_wide_search_is_refused(team):
    from leadflow.services.controlling import reconcile

    leads = [new_mql(n) for n in range(40, 43)]  # Eva Lang40..42 at lang-werke.de
    route(*leads)
    others = [new_mql(n) for n in range(50, 52)]
    route(*others)
    by_search = ('mutation($q: String, $f: LeadSearchFilter) { bulkReject(query: $q, filter: $f, '
                 f'reason: "no budget") {RESULT} }}')
    result = gql(by_search, {"q": "lang4", "f": {"stages": ["MQL"]}}, role="sales_manager", user="boss")
    assert sorted(result["data"]["bulkReject"]["succeeded"]) == sorted(leads)
    assert {lead(i).stage for i in leads} == {"RECYCLED"} and {lead(i).stage for i in others} == {"MQL"}
    nothing = gql(by_search, {"q": "lang4", "f": {"stages": ["MQL"]}}, role="sales_manager", user="boss")
    assert nothing["errors"][0]["message"] == "the search finds no lead you may act on"
    both = gql('mutation { bulkReject(ids: ["x"], query: "lang", reason: "r") { succeeded } }', {},
               role="sales_manager", user="boss")
    assert both["errors"][0]["extensions"]["field"] == "ids"
    assert reconcile(None, None).drift == []


def test_a_search_selecting_more_than_one_call_may_change_is_refused(team, monkeypatch):
    from leadflow.services import bulk

    monkeypatch.setattr(bulk, "MAX_BULK_LEADS", 2)
    leads = [new_mql(n) for n in range(60, 63)]
    route(*leads)
    wide = gql(f'mutation {{ bulkReject(query: "lang6", reason: "r") {RESULT} }}', {},
               role="sales_manager", user="boss")
    assert wide["data"] is None and "the search selects more than 2 leads" in wide["errors"][0]["message"]
    assert {lead(i).stage for i in leads} == {"MQL"}  # nothing half-done
