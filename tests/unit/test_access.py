"""Who the caller is: the role comes only from Cognito groups; what a manager may act on."""

from __future__ import annotations

import pytest

from leadflow.domain.access import LeadScope, Principal, Role, can_see_lead, groups_of, identify, in_scope


@pytest.mark.parametrize("value", [
    ["sales_rep"],                # a decoded ID token: a real list
    "[sales_rep]",                # API Gateway HTTP API's JWT authorizer: the list as text
    "[sales_rep eu-central-1_X_Google]",
    "sales_rep",
    '["sales_rep"]',
])
def test_the_groups_claim_is_read_as_a_list_and_as_api_gateway_text(value):
    assert identify({"sub": "anna", "cognito:groups": value}) == (Principal("anna", Role.SALES_REP), None)


def test_groups_of_splits_api_gateway_text():
    assert groups_of("[a b]") == ["a", "b"]
    assert groups_of(["a", "b"]) == ["a", "b"]
    assert groups_of("a,b") == ["a", "b"]
    assert groups_of("[]") == [] and groups_of("") == [] and groups_of(None) == []


@pytest.mark.parametrize("groups", [["sales_rep"], "[sales_rep]"])
def test_a_self_written_role_attribute_does_not_raise_the_role(groups):
    principal, refusal = identify({"sub": "anna", "custom:role": "admin", "cognito:groups": groups})
    assert principal == Principal("anna", Role.SALES_REP) and refusal is None


def test_a_token_with_only_the_role_attribute_is_refused_saying_why():
    principal, refusal = identify({"sub": "anna", "custom:role": "admin"})
    assert principal is None
    assert refusal.startswith("user anna is in no Leadflow role group; an administrator adds them")
    assert "custom:role attribute is not read" in refusal


def test_groups_that_are_no_leadflow_role_do_not_count():
    principal, refusal = identify({"sub": "anna", "cognito:groups": "[eu-central-1_X_Google admins]"})
    assert principal is None and "in no Leadflow role group" in refusal


def test_several_role_groups_are_refused_not_given_the_strongest():
    principal, refusal = identify({"sub": "anna", "cognito:groups": "[sales_rep admin]"})
    assert principal is None
    assert refusal == ("user anna is in several Leadflow role groups (admin, sales_rep); a user needs exactly "
                       "one: an administrator removes the others")


def test_no_caller_is_no_refusal():
    assert identify(None) == (None, None) and identify({"cognito:groups": "[admin]"}) == (None, None)


REP = Principal("rep-a", Role.SALES_REP)
BOSS = Principal("boss", Role.SALES_MANAGER)


def test_a_manager_acts_on_their_teams_leads_and_their_queue_only():
    mine = frozenset({"north"})
    assert in_scope(BOSS, LeadScope("rep-a", "north"), mine)
    assert not in_scope(BOSS, LeadScope("rep-s", "south"), mine)
    assert in_scope(BOSS, LeadScope(None, "south", queue_manager="boss"), mine)
    assert not in_scope(BOSS, LeadScope(None, "south", queue_manager="south-boss"), mine)
    assert not in_scope(BOSS, LeadScope("rep-gone", None), mine)  # owned, but by no team of theirs
    assert in_scope(BOSS, LeadScope(), mine)  # not yet with sales: reviewed with marketing


def test_a_rep_sees_only_own_leads_and_finance_no_single_lead():
    assert can_see_lead(REP, LeadScope("rep-a", "north"))
    assert not can_see_lead(REP, LeadScope("rep-b", "north"))
    assert not can_see_lead(REP, LeadScope())
    assert not can_see_lead(Principal("f", Role.FINANCE), LeadScope("rep-a", "north"))
    assert can_see_lead(Principal("m", Role.MARKETING), LeadScope("rep-s", "south"))


def test_the_user_is_the_cognito_username_not_the_generated_sub():
    from leadflow.domain.access import identify

    uuid_sub = "8f0c2a4e-1b2c-4d5e-8f90-123456789abc"
    for claim in ("cognito:username", "username"):
        principal, problem = identify({"sub": uuid_sub, claim: "anna.becker", "cognito:groups": "[sales_rep]"})
        assert problem is None and principal.user_id == "anna.becker"
    principal, _ = identify({"sub": "anna.becker", "cognito:groups": "[sales_rep]"})  # local tokens
    assert principal.user_id == "anna.becker"
