"""The GraphQL endpoint behind /graphql, answering API Gateway (payload 2.0) events: production
settings unless the stage is dev.

Strawberry's own HTTP handling (GET and POST, its 400/404/405 answers, GraphiQL in dev) runs on the
event through a small adapter, not through an ASGI stack (Mangum, Starlette, anyio: about a quarter
of a bare `import boto3` at every cold start, docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from cross_web import AsyncHTTPRequestAdapter, FormData, HTTPException
from strawberry.http.async_base_view import AsyncBaseHTTPView

from leadflow.api.context import build_context
from leadflow.api.schema import build_schema


class EventRequest(AsyncHTTPRequestAdapter):
    """An API Gateway HTTP API event as Strawberry reads a request."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self._headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}

    @property
    def method(self) -> Any:
        return ((self.event.get("requestContext") or {}).get("http") or {}).get("method", "GET").upper()

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.event.get("rawQueryString") or "", keep_blank_values=True))

    @property
    def path_params(self) -> dict[str, Any]:
        return {}

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def content_type(self) -> str | None:
        return self._headers.get("content-type")

    async def get_body(self) -> bytes:
        body = self.event.get("body") or ""
        return base64.b64decode(body) if self.event.get("isBase64Encoded") else body.encode()

    async def get_form_data(self) -> FormData:  # no multipart uploads
        return FormData(files={}, form={})

    @property
    def url(self) -> str:
        query = self.event.get("rawQueryString")
        host = self._headers.get("host") or (self.event.get("requestContext") or {}).get("domainName", "")
        return f"https://{host}{self.event.get('rawPath', '/graphql')}" + (f"?{query}" if query else "")

    @property
    def cookies(self) -> dict[str, str]:
        return {}


class LeadflowGraphQL(AsyncBaseHTTPView):
    """Strawberry's HTTP view on API Gateway events; answers are API Gateway response dicts."""

    request_adapter_class = EventRequest
    multipart_uploads_enabled = False

    def __init__(self, schema, *, graphql_ide: str | None, allow_queries_via_get: bool) -> None:
        self.schema = schema
        self.graphql_ide = graphql_ide
        self._allow_get = allow_queries_via_get
        self._local = threading.local()

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        # one event loop per thread, kept between invocations (DataLoaders need a running loop)
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._local.loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(self.run(event))
        except HTTPException as exc:  # Strawberry's refusals: unsupported method or content type, no query
            return _answer(exc.status_code, exc.reason, "text/plain; charset=utf-8")

    @property
    def allow_queries_via_get(self) -> bool:
        return self._allow_get

    async def get_context(self, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
        return build_context(request)

    async def get_root_value(self, request: dict[str, Any]) -> None:
        return None

    async def get_sub_response(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def create_response(self, response_data: Any, sub_response: dict[str, Any]) -> dict[str, Any]:
        return _answer(200, self.encode_json(response_data), "application/json")

    async def render_graphql_ide(self, request: dict[str, Any]) -> dict[str, Any]:
        return _answer(200, self.graphql_ide_html, "text/html; charset=utf-8")

    def is_websocket_request(self, request: Any) -> bool:  # API Gateway HTTP APIs have no websockets
        return False

    async def pick_websocket_subprotocol(self, request: Any) -> None:
        raise NotImplementedError

    async def create_websocket_response(self, request: Any, subprotocol: str | None) -> None:
        raise NotImplementedError

    def get_websocket_headers(self, request: Any) -> Mapping[str, str]:
        raise NotImplementedError

    async def reject_websocket(self, request: Any) -> None:
        raise NotImplementedError


def _answer(status: int, body: str, content_type: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": content_type}, "body": body, "isBase64Encoded": False}


def create_app(*, production: bool) -> LeadflowGraphQL:
    return LeadflowGraphQL(
        build_schema(production=production),
        graphql_ide=None if production else "graphiql",
        allow_queries_via_get=not production,
    )

