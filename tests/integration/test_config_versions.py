"""Rule sets are versioned data: shipped as files, published as versions, one active."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict

from leadflow.domain.errors import InvalidConfig
from tests.helpers import graphql


class _Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    mql: int
    hot: int


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    (tmp_path / "thresholds.yaml").write_text("mql: 60\nhot: 80\n")
    monkeypatch.setenv("LEADFLOW_CONFIG_DIR", str(tmp_path))
    from leadflow.services import config

    config.register("thresholds", _Thresholds.model_validate)
    return tmp_path


def test_shipped_file_is_active_until_a_version_is_published(aws, config_dir):
    from leadflow.services import config

    assert config.active("thresholds") == (None, {"mql": 60, "hot": 80})
    v2 = config.publish("thresholds", {"mql": 50, "hot": 75}, author="admin-1", comment="lower bar")
    v3 = config.publish("thresholds", {"mql": 55, "hot": 75}, author="admin-2")
    assert (v2, v3) == (2, 3)  # the shipped file is version 1
    assert config.active("thresholds") == (3, {"mql": 55, "hot": 75, "version": 3})


def test_invalid_document_is_refused_naming_the_field(aws, config_dir):
    from leadflow.services import config

    with pytest.raises(InvalidConfig) as err:
        config.publish("thresholds", {"mql": "sixty", "hot": 80}, author="admin-1")
    assert err.value.field == "document.mql"
    from leadflow.store import config as store

    assert store.latest_version("thresholds") == 0


def test_only_admins_publish_through_graphql(aws, config_dir):
    from functions.graphql_api import handler

    mutation = """mutation($doc: JSON!) { publishConfig(name: "thresholds", document: $doc, comment: "q4") {
        version active author } }"""
    denied = graphql(handler, mutation, {"doc": {"mql": 40, "hot": 70}}, role="marketing")
    assert denied["data"] is None
    ok = graphql(handler, mutation, {"doc": {"mql": 40, "hot": 70}}, role="admin", user="alice")
    assert ok["data"]["publishConfig"] == {"version": 2, "active": True, "author": "alice"}
    listed = graphql(handler, '{ configVersions(name: "thresholds") { version active author document } }')
    assert listed["data"]["configVersions"] == [
        {"version": 2, "active": True, "author": "alice", "document": {"mql": 40, "hot": 70, "version": 2}},
        {"version": 1, "active": False, "author": "shipped", "document": {"mql": 60, "hot": 80}}]


def shipped(name: str) -> dict:
    """The shipped file as a client sends it (JSON: dates as strings)."""
    from leadflow.services import config

    return json.loads(json.dumps(config.load_file(name), default=str))


VERSIONS = '{ configVersions(name: "%s") { version active author } }'
PUBLISH = """mutation($name: String!, $doc: JSON!) { publishConfig(name: $name, document: $doc) { version active } }"""


def test_config_versions_lists_the_shipped_version_and_refuses_unknown_names(aws):
    from functions.graphql_api import handler

    assert graphql(handler, VERSIONS % "routing")["data"]["configVersions"] == [
        {"version": 1, "active": True, "author": "shipped"}]
    unknown = graphql(handler, VERSIONS % "routting")
    assert unknown["data"] is None
    assert "unknown rule set 'routting'" in unknown["errors"][0]["message"]
    assert "routing" in unknown["errors"][0]["message"].split("known:")[1]
    assert unknown["errors"][0]["extensions"] == {"code": "not_found", "rule": "not_found", "field": "name"}
    assert graphql(handler, VERSIONS % "predictive_model")["data"]["configVersions"] == []  # none trained yet


def test_publish_accepts_only_existing_rule_sets_validated_by_their_schema(aws):
    from functions.graphql_api import handler

    made_up = graphql(handler, PUBLISH, {"name": "whatever", "doc": {"a": 1}})
    assert "unknown rule set 'whatever'" in made_up["errors"][0]["message"]
    routing = shipped("routing")
    broken = {**routing, "teams": [{**routing["teams"][0], "reps": [{**routing["teams"][0]["reps"][0],
                                                                      "weight": -1}]}]}
    refused = graphql(handler, PUBLISH, {"name": "routing", "doc": broken})
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["field"] == "document.teams.0.reps.0.weight"
    junk = graphql(handler, PUBLISH, {"name": "scoring", "doc": {"colour": "blue"}})
    assert junk["data"] is None and junk["errors"][0]["extensions"]["code"] == "invalid_input"
    assert graphql(handler, VERSIONS % "routing")["data"]["configVersions"] == [
        {"version": 1, "active": True, "author": "shipped"}]  # nothing was stored


def test_an_identical_republish_is_refused(aws):
    from functions.graphql_api import handler

    routing = shipped("routing")
    same = graphql(handler, PUBLISH, {"name": "routing", "doc": {**routing, "version": 5}})
    assert "same as the active version 1" in same["errors"][0]["message"]
    changed = {**routing, "default_team": routing["teams"][0]["id"], "timezone": "Europe/Vienna"}
    assert graphql(handler, PUBLISH, {"name": "routing", "doc": changed})["data"]["publishConfig"] == {
        "version": 2, "active": True}
    again = graphql(handler, PUBLISH, {"name": "routing", "doc": changed})
    assert "same as the active version 2" in again["errors"][0]["message"]
    assert again["errors"][0]["extensions"]["code"] == "invalid_state"


def test_the_rules_version_a_score_reports_is_the_active_config_version(aws):
    from functions.graphql_api import handler
    from leadflow.services import config
    from leadflow.services.rulesets import active_rules

    assert active_rules("scoring").version == 1
    scoring = shipped("scoring")
    published = graphql(handler, PUBLISH, {"name": "scoring", "doc": {**scoring, "version": 9,
                                                                       "mql_threshold": 61}})
    assert published["data"]["publishConfig"]["version"] == 2
    config.clear_cache()
    active = [v for v in graphql(handler, VERSIONS % "scoring")["data"]["configVersions"] if v["active"]]
    assert active == [{"version": 2, "active": True, "author": "admin-1"}]
    assert active_rules("scoring").version == 2
