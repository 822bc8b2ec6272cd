"""Reading a request body for every HTTP function (capture, track, graphql), the one way:
base64 as API Gateway marks it, a size limit, strict UTF-8, and JSON with a nesting limit that
must be an object. Anything unreadable is a BodyError with the HTTP status, the field and the
rule, never a 500 and never the decoder's own text."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from leadflow.domain.json_input import UnreadableInput, parse_json


class BodyError(Exception):
    def __init__(self, status: int, rule: str, message: str, field: str = "body"):
        super().__init__(message)
        self.status, self.rule, self.message, self.field = status, rule, message, field

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "rule": self.rule, "message": self.message}]


def body_text(event: Mapping[str, Any], max_bytes: int) -> str:
    """The body of an API Gateway (payload 2.0) event as text; "" when there is none."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise BodyError(400, "syntax", "the body could not be read")
    if len(body) > max_bytes * 4 // 3 + 4:  # over the limit even before decoding
        raise _too_large(max_bytes)
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BodyError(400, "encoding", "the body is marked base64 but is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "encoding", "the body must be UTF-8 text") from None


def json_object(text: str) -> dict[str, Any]:
    """A JSON object body (nesting limit: leadflow.domain.json_input)."""
    try:
        return parse_json(text, field="body")
    except UnreadableInput as exc:
        raise BodyError(400, exc.code, f"the body {exc.message}") from None


def json_body(event: Mapping[str, Any], max_bytes: int) -> dict[str, Any]:
    return json_object(body_text(event, max_bytes))


def _too_large(max_bytes: int) -> BodyError:
    return BodyError(413, "max_size", f"the body must be at most {max_bytes} bytes")
