"""JSON from outside (request bodies, pagination cursors), read without surprises: a nesting
limit checked before the parser recurses (10,000 levels of `[` would otherwise end in a
RecursionError, an HTTP 500), the type the caller expects, and errors that name the field and
the rule, never the parser's internals."""

from __future__ import annotations

import json
import re
from typing import Any

from leadflow.domain.errors import InvalidInput

MAX_DEPTH = 32  # the deepest legitimate document (a published rule set) nests about 8 levels

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class UnreadableInput(InvalidInput):
    """Input that cannot be read at all; `code` is the rule (syntax, encoding, max_depth, type_object, ...)."""

    def __init__(self, message: str, *, field: str, rule: str):
        super().__init__(message, field=field)
        self.code = rule


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped); stops counting past `limit`."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def parse_json(text: str, *, field: str, max_depth: int = MAX_DEPTH, want_object: bool = True) -> Any:
    """The JSON value of `text`; with `want_object` it must be an object. UnreadableInput otherwise."""
    if not text.strip():
        raise UnreadableInput("is empty; send a JSON object", field=field, rule="required")
    if nesting_depth(text, max_depth) > max_depth:
        raise UnreadableInput(f"nests deeper than {max_depth} levels", field=field, rule="max_depth")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                              field=field, rule="syntax") from None
    except (ValueError, RecursionError):  # e.g. a number too long to convert
        raise UnreadableInput("is not valid JSON", field=field, rule="syntax") from None
    if want_object and not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__.replace("str", "string").replace("list", "array")
        raise UnreadableInput(f"must be a JSON object, not {kind}", field=field, rule="type_object")
    return value
