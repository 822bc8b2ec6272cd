"""The one JSON reader for outside input: nesting counted outside strings only, clear rules."""

from __future__ import annotations

import pytest

from leadflow.domain.errors import InvalidInput
from leadflow.domain.json_input import nesting_depth, parse_json


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"message": "[[[[{{{{ \\" ]]]] \\\\", "a": [[1]]}'
    assert nesting_depth(text) == 3
    assert parse_json(text, field="body", max_depth=3)["a"] == [[1]]


@pytest.mark.parametrize(("text", "rule"), [
    ("[" * 5000 + "]" * 5000, "max_depth"), ("null", "type_object"), ("[]", "type_object"), ('"x"', "type_object"),
    ("", "required"), ("{", "syntax"), ("1" * 5000, "syntax"),
])
def test_unreadable_json_names_the_field_and_the_rule(text, rule):
    with pytest.raises(InvalidInput) as caught:
        parse_json(text, field="body")
    assert (caught.value.field, caught.value.code) == ("body", rule)
