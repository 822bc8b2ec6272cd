"""Rule sets are versioned data: shipped as files, published as versions, one active."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from leadflow.domain.errors import InvalidConfig
from tests.helpers import graphql


class _Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    v1 = config.publish("thresholds", {"mql": 50, "hot": 75}, author="admin-1", comment="lower bar")
    v2 = config.publish("thresholds", {"mql": 55, "hot": 75}, author="admin-2")
    assert (v1, v2) == (1, 2)
    assert config.active("thresholds") == (2, {"mql": 55, "hot": 75})


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
    assert ok["data"]["publishConfig"] == {"version": 1, "active": True, "author": "alice"}
    listed = graphql(handler, '{ configVersions(name: "thresholds") { version active document } }')
    assert listed["data"]["configVersions"] == [{"version": 1, "active": True, "document": {"mql": 40, "hot": 70}}]
