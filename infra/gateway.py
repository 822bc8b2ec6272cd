"""The local API Gateway: HTTP request -> HTTP API payload 2.0 event -> Lambda handler.

Routes come from template.yaml (``Wiring.routes``). Each request is matched to
a route the way HTTP APIs match (literal paths before path variables, greedy
``{proxy+}`` last, method or ANY), turned into the event API Gateway would send,
authorized by the local JWT authorizer if the route has one, and handed to the
function in process. The function's answer is turned back into HTTP the way
API Gateway does it (statusCode/headers/cookies/body/isBase64Encoded, or a
plain JSON value -> 200).

Dev-only routes (``/dev/...``: health, schedules, later the mail catcher) are
registered with ``Gateway.add_dev_route`` in one place, ``LocalStack``; they are
matched before the template's routes.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, unquote

from infra.auth import JwtAuthorizer, Unauthorized
from infra.lambda_runtime import ACCOUNT_ID, HandlerUnavailable
from infra.template import Route

log = logging.getLogger("infra.gateway")

API_ID = "local"
STAGE = "$default"

# Content types API Gateway HTTP APIs pass as text; everything else (including
# form posts and requests without a content type) arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript",
               "application/graphql", "application/ld+json")


# ------------------------------------------------------------------ messages
@dataclass
class HttpRequest:
    method: str
    target: str  # path plus optional "?query", as received
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, value: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
        return cls(status, [("content-type", "application/json"), *headers],
                   json.dumps(value, default=str).encode())

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


class Invoker(Protocol):
    def invoke(self, function: str, event: Any) -> Any: ...


DevHandler = Callable[[HttpRequest, dict[str, str]], "HttpResponse | Any"]


# ------------------------------------------------------------------ routing
@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    rank: tuple[int, int, int]


def _compile(route: Route) -> _CompiledRoute:
    parts = [p for p in route.path.split("/") if p != ""]
    regex, params, greedy, variables = "", [], 0, 0
    for part in parts:
        m = re.fullmatch(r"\{([A-Za-z0-9_.-]+)(\+?)\}", part)
        if m and m.group(2):
            regex += rf"/(?P<p{len(params)}>.+)"
            greedy += 1
        elif m:
            regex += rf"/(?P<p{len(params)}>[^/]+)"
            variables += 1
        else:
            regex += "/" + re.escape(part)
            continue
        params.append(m.group(1))
    # HTTP APIs prefer the most specific route: fewer greedy, fewer variables, longer literal.
    rank = (greedy, variables, -len(parts))
    return _CompiledRoute(route, re.compile((regex or "/") + r"\Z"), tuple(params), rank)


class RouteTable:
    def __init__(self, routes: Iterable[Route]):
        self._routes = sorted((_compile(r) for r in routes), key=lambda c: c.rank)

    @property
    def routes(self) -> list[Route]:
        return [c.route for c in self._routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """Route and decoded path parameters; path as received (still percent-encoded)."""
        method = method.upper()
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            m = compiled.pattern.match(path)
            if m:
                values = {name: unquote(m.group(f"p{i}")) for i, name in enumerate(compiled.params)}
                return compiled.route, values
        return None


# ------------------------------------------------------------------ events
def route_key(route: Route) -> str:
    return f"{route.method} {route.path}"


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))


def build_event(
    request: HttpRequest,
    route: Route,
    path_params: dict[str, str],
    *,
    authorizer: dict[str, Any] | None = None,
    domain_name: str = "127.0.0.1",
    now: float | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for this request."""
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.client_ip)
    headers.setdefault("x-forwarded-proto", "http")
    if "host" in headers and ":" in headers["host"]:
        headers.setdefault("x-forwarded-port", headers["host"].rsplit(":", 1)[1])
    request_id = request_id or base64.b64encode(secrets.token_bytes(12)).decode()[:16]
    stamp = datetime.fromtimestamp(now, tz=UTC)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": unquote(request.raw_path),
            "protocol": request.protocol,
            "sourceIp": request.client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key(route),
        "stage": STAGE,
        "time": stamp.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key(route),
        "rawPath": unquote(request.raw_path),  # HTTP APIs deliver the path decoded
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if path_params:
        event["pathParameters"] = path_params
    if request.body:
        if is_text(headers.get("content-type")):
            event["body"] = request.body.decode("utf-8", errors="replace")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


class InvalidLambdaResponse(Exception):
    pass


def to_http_response(result: Any) -> HttpResponse:
    """Interpret a Lambda result the way HTTP APIs do for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway assumes 200 and JSON, the whole result is the body.
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise InvalidLambdaResponse(f"statusCode {result['statusCode']!r} is not a number") from exc
    if not 100 <= status <= 599:
        raise InvalidLambdaResponse(f"statusCode {status} out of range")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), _header_value(v)) for v in values)
    for cookie in result.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise InvalidLambdaResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise InvalidLambdaResponse("isBase64Encoded but body is not base64") from exc
    else:
        raw = body.encode("utf-8")
    return HttpResponse(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------ gateway
class Gateway:
    """Turns HttpRequest into HttpResponse. No sockets here: testable directly."""

    NOT_FOUND: ClassVar[dict[str, str]] = {"message": "Not Found"}
    UNAUTHORIZED: ClassVar[dict[str, str]] = {"message": "Unauthorized"}
    INTERNAL: ClassVar[dict[str, str]] = {"message": "Internal Server Error"}

    def __init__(self, routes: Iterable[Route], invoker: Invoker, authorizer: JwtAuthorizer,
                 *, domain_name: str = "127.0.0.1"):
        self.table = RouteTable(routes)
        self.invoker = invoker
        self.authorizer = authorizer
        self.domain_name = domain_name
        self._dev = RouteTable([])
        self._dev_handlers: dict[tuple[str, str], DevHandler] = {}

    # The one place dev-only routes get added (health, schedules, mail catcher, ...).
    def add_dev_route(self, method: str, path: str, handler: DevHandler) -> None:
        if not path.startswith("/dev/"):
            raise ValueError("dev routes live under /dev/")
        self._dev_handlers[(method.upper(), path)] = handler
        self._dev = RouteTable(Route(m, p, "dev", None) for m, p in self._dev_handlers)

    @property
    def dev_routes(self) -> list[Route]:
        return self._dev.routes

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response, label = self._handle(request)
        response.headers.append(("apigw-requestid", base64.b64encode(secrets.token_bytes(12)).decode()[:16]))
        log.info("%s %s -> %s %d (%.0f ms)", request.method, request.raw_path, label, response.status,
                 (time.perf_counter() - started) * 1000)
        return response

    def _handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        dev = self._dev.match(request.method, request.raw_path)
        if dev:
            route, params = dev
            try:
                result = self._dev_handlers[(route.method, route.path)](request, params)
            except Exception:  # noqa: BLE001
                log.error("dev route %s failed:\n%s", route_key(route), traceback.format_exc())
                return HttpResponse.json(500, self.INTERNAL), "dev"
            return (result if isinstance(result, HttpResponse) else HttpResponse.json(200, result)), "dev"
        matched = self.table.match(request.method, request.raw_path)
        if matched is None:
            return HttpResponse.json(404, self.NOT_FOUND), "no route"
        route, params = matched
        lowered = {k.lower(): v for k, v in request.headers}
        authorizer_block = None
        if route.authorizer:
            try:
                authorizer_block = self.authorizer.authorize(lowered)
            except Unauthorized as exc:
                log.info("%s: 401 (%s)", route_key(route), exc)
                return HttpResponse.json(401, self.UNAUTHORIZED, [
                    ("www-authenticate", 'Bearer error="invalid_token"')]), route.function
        event = build_event(request, route, params, authorizer=authorizer_block,
                            domain_name=lowered.get("host", self.domain_name))
        try:
            result = self.invoker.invoke(route.function, event)
        except HandlerUnavailable as exc:
            message = "Not Implemented" if exc.status == 501 else "Bad Gateway"
            return HttpResponse.json(exc.status, {"message": message, "function": exc.function,
                                                  "handler": exc.handler, "reason": exc.reason}), route.function
        except Exception:  # noqa: BLE001 - the function failed: API Gateway answers 500
            log.error("%s (%s) raised:\n%s", route.function, route_key(route), traceback.format_exc())
            return HttpResponse.json(500, self.INTERNAL), route.function
        try:
            return to_http_response(result), route.function
        except InvalidLambdaResponse as exc:
            log.error("%s returned an invalid response: %s", route.function, exc)
            return HttpResponse.json(500, self.INTERNAL), route.function


# ------------------------------------------------------------------ server
# Werkzeug's threaded WSGI server (installed with moto[server]), not http.server: a listen backlog
# of 5 reset most connections of a 50-request burst. One thread per connection, keep-alive.
LISTEN_BACKLOG = 1024  # connections the kernel queues before a thread takes them (capped by somaxconn)


def wsgi_app(gateway: Gateway) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The gateway as a WSGI application: environ -> HttpRequest -> Gateway.handle -> response."""
    from http import HTTPStatus

    from werkzeug.wsgi import get_input_stream

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            body = get_input_stream(environ).read()
        except Exception:  # noqa: BLE001 - a broken chunked body or a client that went away
            response = HttpResponse.json(400, {"message": "Bad Request"})
        else:
            headers = [(name[5:].replace("_", "-").lower(), value) for name, value in environ.items()
                       if name.startswith("HTTP_")]
            headers += [(name.replace("_", "-").lower(), environ[name]) for name in ("CONTENT_TYPE", "CONTENT_LENGTH")
                        if environ.get(name)]
            response = gateway.handle(HttpRequest(
                method=environ["REQUEST_METHOD"],
                # the request target as received (werkzeug hands it on UTF-8 bytes read as Latin-1)
                target=environ["REQUEST_URI"].encode("latin-1").decode("utf-8", "replace"),
                headers=headers, body=body, client_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
                protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1")))
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        out = [(name, value) for name, value in response.headers
               if name.lower() not in ("content-length", "connection", "transfer-encoding")]
        start_response(f"{response.status} {reason}".rstrip(), [*out, ("Content-Length", str(len(response.body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else response.body]

    return app


def _request_handler() -> type:
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        server_version = "leadflow-local"  # type: ignore[assignment]
        sys_version = ""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # Gateway.handle logs one line per request

    return Handler


class GatewayServer:
    """A threaded WSGI server bound at construction (so a busy port fails fast)."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0):
        import socket

        from werkzeug.serving import ThreadedWSGIServer

        self.gateway = gateway
        # Bind here: werkzeug would print and sys.exit() on a busy port; this raises OSError(EADDRINUSE).
        listener = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
        try:
            self._server = ThreadedWSGIServer(host, listener.getsockname()[1], wsgi_app(gateway),
                                              handler=_request_handler(), fd=listener.fileno())
        finally:
            listener.close()  # the server uses a duplicate of the socket
        self._server.block_on_close = False  # stop() does not wait for open keep-alive connections
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
