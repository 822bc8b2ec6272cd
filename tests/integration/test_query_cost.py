"""GraphQL cost is bounded (issue 12, point 7): nested lists of a page of leads load in batches per
request, and a query whose worst case would not fit into the function's timeout is refused
before anything is read."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest

from tests.bench.counting import counting, uninstall
from tests.bench.graphql_cost import ATTACK, CONSOLE, EVENTS, HISTORY, NESTED, seed
from tests.helpers import LambdaContext, claims, http_event


@pytest.fixture
def prod_api(aws):
    from leadflow.api.app import create_app

    return create_app(production=True)  # answers API Gateway events, as the function does


@pytest.fixture
def requests_counted():
    yield counting
    uninstall()  # botocore as it was for the next tests


def call(api, query: str, variables: dict | None = None, role: str = "admin") -> tuple[int, dict]:
    response = api(http_event("POST", "/graphql", body={"query": query, "variables": variables or {}},
                              claims=claims(role)), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_the_issue_attack_is_refused_at_once_naming_cost_and_limit(prod_api, requests_counted):
    seed(100)
    started = time.perf_counter()
    with requests_counted() as log:
        status, answer = call(prod_api, ATTACK)
    elapsed = time.perf_counter() - started
    assert status == 200 and answer.get("data") is None
    [error] = answer["errors"]
    assert error["message"].startswith("query cost ") and "exceeds the limit of 500" in error["message"]
    assert "15 s timeout" in error["message"] and "Unexpected" not in error["message"]
    assert error["extensions"]["code"] == "invalid_input" and error["extensions"]["rule"] == "query_cost"
    assert error["extensions"]["cost"] > error["extensions"]["limit"] == 500
    assert log.dynamodb == 0  # refused before any read
    assert elapsed < 2.0  # it took 136 s (4,615 requests) on in-process moto before


def test_a_console_page_of_50_leads_with_history_and_timeline_passes(prod_api):
    ids = seed(60)
    status, answer = call(prod_api, CONSOLE, {"first": 50})
    assert status == 200 and not answer.get("errors"), answer.get("errors")
    nodes = [edge["node"] for edge in answer["data"]["leads"]["edges"]]
    assert [n["id"] for n in nodes] == ids[::-1][:50]  # newest first
    assert all(len(n["history"]) == HISTORY and len(n["timeline"]) == EVENTS for n in nodes)
    assert nodes[0]["history"][0] == {"seq": 1, "toStage": "LEAD", "at": nodes[0]["history"][0]["at"],
                                      "actor": "system:bench", "reason": "captured"}


def test_nested_lists_of_a_page_load_in_batches(prod_api, requests_counted):
    ids = seed(50)
    with requests_counted() as log:
        _, answer = call(prod_api, NESTED, {"first": 50})
    assert not answer.get("errors"), answer.get("errors")
    # consents and journeys of all 50 leads: one BatchGetItem (it was a GetItem each: 100);
    # history, timeline and duplicate links: one Query per lead (no Query spans partitions); the
    # page: a Query per shard of the stage index (keys) and one BatchGetItem of its 50 leads
    assert log.kinds() == {"Query(Leads)": 8, "BatchGetItem[50](Leads)": 1, "BatchGetItem[100](Nurture)": 1,
                           "Query(History)": 50, "Query(Timeline)": 50, "Query(Match)": 50}
    nodes = {edge["node"]["id"]: edge["node"] for edge in answer["data"]["leads"]["edges"]}
    assert nodes[ids[0]]["possibleDuplicates"] == [f"{ids[0]}-dup"] and nodes[ids[1]]["possibleDuplicates"] == []
    assert all(n["consents"] == [{"purpose": "email_marketing", "status": "confirmed",
                                  "givenAt": n["consents"][0]["givenAt"]}] for n in nodes.values())
    assert all(n["journey"]["journeyId"] == "welcome" and n["journey"]["runs"] == [{"stepId": "welcome",
                                                                                     "outcome": "sent"}]
               for n in nodes.values())


def test_a_lead_asked_for_twice_in_one_request_is_read_once(prod_api, requests_counted):
    seed(20)
    twice = ("{ a: leads(stage: LEAD, first: 20) { edges { node { id timeline { type } } } } "
             "b: leads(stage: LEAD, first: 20) { edges { node { id timeline { type } } } } }")
    with requests_counted() as log:
        _, answer = call(prod_api, twice)
    assert not answer.get("errors") and len(answer["data"]["b"]["edges"]) == 20
    assert log.kinds()["Query(Timeline)"] == 20  # not 40


def test_a_lead_without_nurture_items_or_links_reads_as_empty(prod_api):
    from leadflow.store.models import NurtureModel

    [lead_id] = seed(1)
    NurtureModel(f"lead#{lead_id}", "consent").delete()
    NurtureModel(f"lead#{lead_id}", "journey").delete()
    _, answer = call(prod_api, 'query($id: ID!) { lead(id: $id) { consents { purpose } journey { journeyId } '
                                    'possibleDuplicates } }', {"id": lead_id})
    assert answer == {"data": {"lead": {"consents": [], "journey": None, "possibleDuplicates": [f"{lead_id}-dup"]}}}


# ------------------------------------------------------------------ the cost model
def cost(query: str, variables: dict | None = None, role: str = "admin"):
    from graphql import parse
    from leadflow.api.cost import estimate
    from leadflow.api.schema import schema

    return estimate(schema._schema, parse(query), variables, None, role)


def test_lists_multiply_and_aliases_fragments_and_variables_count():
    page = "leads(stage: LEAD, first: $n) { edges { node { id history { seq } timeline(first: 5) { type } } } }"
    one = cost(f"query($n: Int!) {{ {page} }}", {"n": 10})
    assert one.requests == 9 + 10 + 10  # the page (8 shards, its leads), a history and a timeline Query per lead
    assert cost(f"query($n: Int!) {{ {page} }}", {"n": 100}).requests == 9 + 100 + 100
    assert cost(f"query($n: Int!) {{ a: {page} b: {page} }}", {"n": 10}).requests == 2 * one.requests
    fragment = ("query($n: Int!) { leads(stage: LEAD, first: $n) { edges { node { ...F } } } } "
                "fragment F on Lead { id history { seq } timeline(first: 5) { type } }")
    assert cost(fragment, {"n": 10}).requests == one.requests
    batched = cost("{ leads(stage: LEAD, first: 100) { edges { node { consents { purpose } journey { stopped } } } } }")
    assert batched.requests == 9 + 1 + 1  # one BatchGetItem per 100 leads for each
    assert cost("{ leads(stage: LEAD) { edges { node { id } } } }").requests == 9  # first's default (20)


def test_a_managers_filtered_list_counts_its_pages():
    # a manager's stage list reads pages of 100 (keys, then leads) until 500 leads were looked at
    assert cost("{ leads(stage: LEAD, first: 1) { edges { node { id } } } }", role="sales_manager").requests == 18
    assert cost("{ leads(stage: LEAD, first: 1) { edges { node { id } } } }", role="admin").requests == 9


def test_a_report_counts_a_request_per_period_when_grouped():
    q = 'query($f: Date!, $t: Date!) { funnel(from: $f, to: $t, groupBy: SOURCE, grain: DAY) { grain } }'
    start = date(2026, 1, 1)
    assert cost(q, {"f": start.isoformat(), "t": (start + timedelta(days=99)).isoformat()}).requests == 101
    twice = q.replace("{ funnel", "{ a: funnel").replace("{ grain } }", "{ grain } b: funnel(from: $f, to: $t, "
                                                                        "groupBy: SOURCE, grain: DAY) { grain } }")
    year = {"f": start.isoformat(), "t": (start + timedelta(days=299)).isoformat()}
    assert cost(twice, year).cost > 500  # two 300-day reports by day: refused


def test_every_root_field_has_a_cost():
    from leadflow.api.cost import FIELD_REQUESTS
    from leadflow.api.schema import schema

    missing = [name for name in schema._schema.query_type.fields if f"Query.{name}" not in FIELD_REQUESTS]
    assert not missing, f"add the DynamoDB requests of {missing} to api/cost.py FIELD_REQUESTS"


def test_every_documented_operation_fits_the_limit():
    from graphql import OperationDefinitionNode, parse, print_ast
    from leadflow.api.cost import MAX_COST
    from tests.e2e.test_documented_operations import OPERATIONS

    year = {"from": "2025-01-01", "to": "2025-12-31"}
    for path in sorted(OPERATIONS.glob("*.graphql")):
        for node in parse(path.read_text()).definitions:
            assert isinstance(node, OperationDefinitionNode)
            names = {v.variable.name.value for v in node.variable_definitions or ()}
            variables = {k: v for k, v in year.items() if k in names}
            for role in ("admin", "sales_manager"):
                found = cost(print_ast(node), variables, role)
                assert found.cost <= MAX_COST, (node.name.value, role, found)


def test_the_limit_follows_the_functions_timeout():
    from infra.template import load_wiring
    from leadflow.api.cost import FUNCTION_TIMEOUT_S, MAX_COST, MS_PER_REQUEST

    wiring = load_wiring(parameters={"Stage": "prod"})
    assert int(wiring.resources["GraphqlFunction"]["Properties"]["Timeout"]) == FUNCTION_TIMEOUT_S
    assert MAX_COST == FUNCTION_TIMEOUT_S * 1000 // 2 // MS_PER_REQUEST


def test_the_cost_model_knows_the_shards_and_the_lazy_page():
    from leadflow.api import cost
    from leadflow.store import lead_lists, models

    assert (cost.STAGE_SHARDS, cost.REVIEW_SHARDS) == (models.STAGE_SHARDS, models.REVIEW_SHARDS)
    assert cost.LAZY_PAGE == lead_lists.LAZY_PAGE


def test_a_managers_filtered_list_reads_at_most_what_the_cost_model_counts(aws, prod_api, requests_counted):
    from leadflow.api.cost import FIELD_REQUESTS, Call

    seed(120)  # in the admin's team only: a manager sees none of them, the worst case
    with requests_counted() as log:
        status, answer = call(prod_api, "{ leads(stage: LEAD, first: 1) { edges { node { id } } } }",
                              role="sales_manager")
    assert status == 200 and not answer.get("errors"), answer
    assert log.dynamodb <= FIELD_REQUESTS["Query.leads"](Call(1, {"first": 1}, "sales_manager"))
