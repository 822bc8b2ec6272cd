"""Production GraphQL: no GraphiQL, no introspection, no GET queries, bounded queries."""

from __future__ import annotations

import json

import pytest
from mangum import Mangum

from tests.helpers import LambdaContext, claims, http_event


@pytest.fixture
def prod_api(aws):
    from leadflow.api.app import create_app

    return Mangum(create_app(production=True), lifespan="off")


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

    dev = Mangum(create_app(production=False), lifespan="off")
    response = dev(http_event("GET", "/graphql", headers={"accept": "text/html"}), LambdaContext())
    assert response["statusCode"] == 200 and "graphiql" in response["body"].lower()
