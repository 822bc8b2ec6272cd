"""Production GraphQL: no GraphiQL, no introspection, no GET queries, bounded queries."""

from __future__ import annotations

import json

import pytest

from tests.helpers import LambdaContext, claims, http_event


@pytest.fixture
def prod_api(aws):
    from leadflow.api.app import create_app

    return create_app(production=True)  # answers API Gateway events, as the function does


def post(api, query: str, role: str = "admin") -> dict:
    response = api(http_event("POST", "/graphql", body={"query": query}, claims=claims(role)), LambdaContext())
    return json.loads(response["body"])


def test_introspection_is_off_in_production(prod_api):
    result = post(prod_api, "{ __schema { types { name } } }")
    assert result.get("data") is None
    assert "introspection" in result["errors"][0]["message"].lower()


def test_get_queries_and_graphiql_are_off_in_production(prod_api):
    response = prod_api(http_event("GET", "/graphql", query="query=%7Bviewer%7BuserId%7D%7D",
                                   headers={"accept": "text/html"}, claims=claims("admin")), LambdaContext())
    assert response["statusCode"] in (400, 404, 405)
    assert "graphiql" not in (response.get("body") or "").lower()


def test_field_suggestions_do_not_leak_the_schema(prod_api):
    result = post(prod_api, "{ lea(id: 1) { id } }")
    assert "Did you mean" not in result["errors"][0]["message"]


def test_deep_and_aliased_queries_are_refused(prod_api):
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(40))
    result = post(prod_api, "{ " + aliases + " }")
    assert result.get("data") is None and "alias" in result["errors"][0]["message"].lower()


def test_unexpected_errors_are_masked_but_rule_errors_are_told(prod_api):
    result = post(prod_api, '{ leads(stage: LEAD, first: 1000) { edges { cursor } } }')
    assert "between 1 and 100" in result["errors"][0]["message"]


def test_viewer_reports_the_role_from_the_jwt_claims(prod_api):
    assert post(prod_api, "{ viewer { userId role } }", role="finance") == {
        "data": {"viewer": {"userId": "finance-1", "role": "finance"}}}


def test_graphiql_is_served_in_dev(aws):
    from leadflow.api.app import create_app

    dev = create_app(production=False)
    response = dev(http_event("GET", "/graphql", headers={"accept": "text/html"}), LambdaContext())
    assert response["statusCode"] == 200 and "graphiql" in response["body"].lower()


# ------------------------------------------------------------------ error answers
UNKNOWN = "01nosuchlead0000000000000"
# Every mutation that takes an `id`, with valid other arguments: an unknown id must say so.
MUTATIONS_WITH_ID = {
    "correctLead": 'patch: {city: "Berlin"}',
    "releaseLead": "",
    "acceptLead": "",
    "rejectLead": 'reason: "no budget"',
    "qualifyLead": 'budget: "50k"',
    "convertToOpportunity": 'amount: 1000, currency: "EUR", expectedClose: "2099-12-31"',
    "closeOpportunity": 'won: true, reason: "best fit"',
    "updateOpportunity": "probability: 0.5",
    "setCreditworthiness": 'rating: "good"',
    "reassignLead": 'repId: "anna.becker", reason: "holiday cover"',
    "withdrawConsent": 'note: "by phone"',
    "eraseLead": "",
    "mergeDuplicate": "",
    "completeTask": 'outcome: "called"',  # a task id
    "logActivity": 'activity: {type: "note", text: "hi"}',
    "updateActivity": 'activityId: "2026-01-01T00:00:00.000+00:00.ab12", patch: {text: "x"}',
    "deleteActivity": 'activityId: "2026-01-01T00:00:00.000+00:00.ab12"',
    "createTask": 'title: "call back", dueAt: "2026-01-01T10:00:00Z"',
}


def _mutation_call(name: str, args: str) -> str:
    from leadflow.api.schema import schema

    field = schema._schema.mutation_type.fields[name]
    named = getattr(field.type, "of_type", field.type)
    selection = " { __typename }" if hasattr(named, "fields") else ""
    return f'mutation {{ {name}(id: "{UNKNOWN}"{", " + args if args else ""}){selection} }}'


def test_every_mutation_with_an_id_is_in_the_table():
    from leadflow.api.schema import schema

    with_id = {name for name, f in schema._schema.mutation_type.fields.items() if "id" in f.args}
    assert with_id == set(MUTATIONS_WITH_ID), "add new mutations to MUTATIONS_WITH_ID"


@pytest.mark.parametrize("name", sorted(MUTATIONS_WITH_ID))
def test_an_unknown_id_says_no_such_lead(prod_api, name):
    result = post(prod_api, _mutation_call(name, MUTATIONS_WITH_ID[name]))
    assert result.get("data") is None, result
    error = result["errors"][0]
    thing = "task" if name == "completeTask" else "lead"
    assert error["message"] == f"no such {thing}: {UNKNOWN}"
    assert error["extensions"] == {"code": "not_found", "rule": "not_found", "field": "id"}


def test_marketing_rejecting_an_unknown_or_sales_lead_is_told_what_is_wrong(aws):
    from functions.graphql_api import handler
    from tests.helpers import graphql
    from tests.integration.test_routing_sales import new_mql

    mutation = 'mutation($id: ID!) { rejectLead(id: $id, reason: "junk") { stage } }'
    unknown = graphql(handler, mutation, {"id": UNKNOWN}, role="marketing")["errors"][0]
    assert unknown["message"] == f"no such lead: {UNKNOWN}"  # not "the role marketing may not do this"
    mql = new_mql()
    state = graphql(handler, mutation, {"id": mql}, role="marketing")["errors"][0]
    assert "rejects only leads in the review queue" in state["message"] and "stage MQL" in state["message"]
    assert state["extensions"]["code"] == "invalid_state"


def test_a_permission_error_names_the_rule(aws):
    from leadflow.domain.access import Principal, Role
    from leadflow.domain.errors import Forbidden
    from leadflow.services import sales

    with pytest.raises(Forbidden) as err:
        sales.team_queue(Principal("mia", Role.MARKETING), 10, None)
    assert "for the roles sales_manager, admin; you are marketing" in err.value.message


def test_a_token_for_someone_outside_the_sales_team_is_refused_naming_the_team(prod_api):
    refused = prod_api(http_event("POST", "/graphql", body={"query": "{ myLeads { edges { cursor } } }"},
                                  claims=claims("sales_rep", "sales_rep-1")), LambdaContext())
    error = json.loads(refused["body"])["errors"][0]
    assert "'sales_rep-1' is not a sales_rep in the sales team" in error["message"]
    assert "known: anna.becker, jonas.wagner, mehmet.yilmaz, sophie.schulz, lena.hoffmann" in error["message"]
    assert error["extensions"] == {"code": "unauthenticated"}
    manager = post(prod_api, "{ teamQueue { edges { cursor } } }", role="sales_manager")
    assert manager == {"data": {"teamQueue": {"edges": []}}}  # katrin.vogel is the team's manager
    boss = prod_api(http_event("POST", "/graphql", body={"query": "{ teamQueue { edges { cursor } } }"},
                               claims=claims("sales_manager", "anna.becker")), LambdaContext())
    assert "known: katrin.vogel" in json.loads(boss["body"])["errors"][0]["message"]


def _as(api, query: str, token_claims: dict) -> dict:
    response = api(http_event("POST", "/graphql", body={"query": query}, claims=token_claims), LambdaContext())
    return json.loads(response["body"])


@pytest.mark.parametrize("groups", ["[sales_rep]", ["sales_rep"]])  # API Gateway's text, and a real list
def test_a_rep_who_sets_custom_role_admin_stays_a_rep(prod_api, groups):
    # what UpdateUserAttributes(custom:role=admin) would put into the rep's next token
    forged = {"sub": "anna.becker", "custom:role": "admin", "cognito:groups": groups}
    assert _as(prod_api, "{ viewer { userId role } }", forged) == {
        "data": {"viewer": {"userId": "anna.becker", "role": "sales_rep"}}}
    refused = _as(prod_api, '{ configVersions(name: "routing") { version } }', forged)
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == "only these roles may use this field: admin"
    assert refused["errors"][0]["extensions"] == {"code": "not_permitted"}  # was masked: "Unexpected error."


def test_a_token_with_only_custom_role_is_refused(prod_api):
    refused = _as(prod_api, "{ viewer { role } }", {"sub": "mia", "custom:role": "admin"})
    error = refused["errors"][0]
    assert refused["data"] is None and error["extensions"] == {"code": "unauthenticated"}
    assert error["message"].startswith("user mia is in no Leadflow role group; an administrator adds them")


def test_a_user_in_two_role_groups_is_refused(prod_api):
    refused = _as(prod_api, "{ viewer { role } }", {"sub": "mia", "cognito:groups": "[marketing admin]"})
    assert "several Leadflow role groups (admin, marketing)" in refused["errors"][0]["message"]
    assert refused["errors"][0]["extensions"] == {"code": "unauthenticated"}
