"""graphql/schema.graphql is the contract frontends code against: it must match the code."""

from __future__ import annotations

from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"


def test_exported_schema_matches_the_code():
    from leadflow.api.schema import schema

    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "graphql/schema.graphql is stale: run `make schema` and commit it")


def test_every_type_has_an_authorization_rule():
    """A type missing from TYPE_ROLES is denied to everyone; a new type must be placed on purpose."""
    from leadflow.api.permissions import TYPE_ROLES
    from leadflow.api.schema import schema

    object_types = {name for name, t in schema._schema.type_map.items()
                    if not name.startswith("__") and t.__class__.__name__ == "GraphQLObjectType"}
    assert object_types - set(TYPE_ROLES) == set()


def test_documented_operations_are_valid_against_the_schema():
    from graphql import parse, validate
    from leadflow.api.schema import schema

    operations = sorted((SCHEMA_FILE.parent / "operations").glob("*.graphql"))
    assert operations
    for path in operations:
        errors = validate(schema._schema, parse(path.read_text()))
        assert errors == [], f"{path.name}: {errors[0].message if errors else ''}"
