"""The local stack's parts on their own: JWT authorizer, route matching, the HTTP API
2.0 event, response translation, handler loading, SQS records and batch responses,
schedule expressions and tickers. No emulator, no sockets."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from infra import auth
from infra.gateway import Gateway, HttpRequest, RouteTable, build_event, is_text, to_http_response
from infra.lambda_runtime import HandlerUnavailable, LambdaRuntime, LambdaTimeout
from infra.pollers import failed_message_ids, sqs_record
from infra.scheduler import Cron, Rate, Scheduler, SimClock, parse_schedule, scheduled_event
from infra.template import Route, Schedule, load_wiring

SECRET = "unit-test-secret-0123456789abcdefghijklmnop"


@pytest.fixture(scope="module")
def wiring():
    return load_wiring(parameters={"Stage": "dev"})


# ------------------------------------------------------------------ tokens
def test_issued_token_carries_role_user_and_long_expiry():
    token = auth.issue_token("sales_rep", secret=SECRET)
    claims = auth.verify_token(token, secret=SECRET)
    assert claims["sub"] == "sales_rep-1"
    assert claims["cognito:groups"] == ["sales_rep"] and "custom:role" not in claims
    assert claims["iss"] == "leadflow-local" and claims["aud"] == "leadflow"
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600

    assert auth.verify_token(auth.issue_token("admin", "u-42", secret=SECRET), secret=SECRET)["sub"] == "u-42"


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role"):
        auth.issue_token("superuser", secret=SECRET)


@pytest.mark.parametrize("make_token", [
    pytest.param(lambda: auth.issue_token("admin", secret="another-secret-0123456789abcdefghijkl"), id="forged"),
    pytest.param(lambda: auth.issue_token("admin", secret=SECRET, now=time.time() - 3600, ttl_seconds=60),
                 id="expired"),
    pytest.param(lambda: _jwt({"aud": "someone-else"}), id="wrong-audience"),
    pytest.param(lambda: _jwt({"iss": "https://evil.example"}), id="wrong-issuer"),
    pytest.param(lambda: _jwt({}, drop="exp"), id="no-expiry"),
    pytest.param(lambda: _jwt({}, algorithm="none"), id="alg-none"),
    pytest.param(lambda: "not.a.jwt", id="garbage"),
])
def test_bad_tokens_are_unauthorized(make_token):
    with pytest.raises(auth.Unauthorized):
        auth.verify_token(make_token(), secret=SECRET)


def _jwt(overrides, drop=None, algorithm="HS256"):
    import jwt

    now = int(time.time())
    claims = {"sub": "x", "cognito:groups": ["admin"], "iss": auth.ISSUER, "aud": auth.AUDIENCE, "iat": now,
              "exp": now + 60, **overrides}
    if drop:
        claims.pop(drop)
    return jwt.encode(claims, SECRET if algorithm != "none" else None, algorithm=algorithm)


def test_bearer_prefix_is_optional_like_api_gateway():
    assert auth.bearer_token("Bearer abc") == "abc"
    assert auth.bearer_token("bearer   abc ") == "abc"
    assert auth.bearer_token("abc") == "abc"
    for empty in (None, "", "Bearer ", "   "):
        with pytest.raises(auth.Unauthorized):
            auth.bearer_token(empty)


def test_claims_are_strings_as_api_gateway_passes_them():
    assert auth.api_gateway_claims({"exp": 1700000000, "groups": ["a", "b"], "ok": True, "sub": "u"}) == {
        "exp": "1700000000", "groups": "[a b]", "ok": "true", "sub": "u"}


def test_dev_secret_is_created_once_per_checkout_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv(auth.SECRET_ENV, raising=False)
    (tmp_path / "template.yaml").write_text("")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    first = auth.dev_secret()
    path = tmp_path / ".leadflow" / "dev-secret"
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / ".leadflow" / ".gitignore").read_text().strip().endswith("*")
    assert auth.dev_secret() == first  # the stack and `leadflow token` agree
    token = auth.issue_token("finance")
    assert auth.verify_token(token, secret=first)["cognito:groups"] == ["finance"]

    monkeypatch.setenv(auth.SECRET_ENV, "from-the-environment-0123456789abcdef")
    assert auth.dev_secret() == "from-the-environment-0123456789abcdef"


def test_token_command_prints_just_a_verifiable_token(monkeypatch, capsys, tmp_path):
    from leadflow.cli import main
    from leadflow.cli.token import ROLES

    assert ROLES == auth.ROLES
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    no_stack = ["--stack-file", str(tmp_path / "no-stack.json")]  # the shipped config/routing.yaml decides
    assert main(["token", "--role", "sales_manager", "--user", "katrin.vogel", *no_stack]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    claims = auth.verify_token(out.strip(), secret=SECRET)
    assert claims["sub"] == "katrin.vogel" and claims["cognito:groups"] == ["sales_manager"]


def test_token_command_lists_the_team_and_refuses_users_outside_it(monkeypatch, capsys, tmp_path):
    from leadflow.cli import main

    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    no_stack = ["--stack-file", str(tmp_path / "no-stack.json")]
    assert main(["token", "--role", "sales_rep", "--list", *no_stack]) == 0
    reps = capsys.readouterr().out.split()
    assert reps == ["anna.becker", "jonas.wagner", "mehmet.yilmaz", "sophie.schulz", "lena.hoffmann"]
    assert main(["token", "--role", "sales_rep", "--user", "sales_rep-1", *no_stack]) == 2
    error = capsys.readouterr().err
    assert "'sales_rep-1' is not a sales_rep" in error and "known: anna.becker, jonas.wagner" in error
    assert main(["token", "--role", "sales_rep", *no_stack]) == 0  # default: the first rep, not a made-up id
    assert auth.verify_token(capsys.readouterr().out.strip(), secret=SECRET)["sub"] == "anna.becker"
    assert main(["token", "--role", "finance", "--user", "fiona", *no_stack]) == 0  # not a team role


# ------------------------------------------------------------------ routes
def test_template_routes_match_with_path_parameters(wiring):
    table = RouteTable(wiring.routes)
    route, params = table.match("POST", "/leads")
    assert (route.function, route.authorizer, params) == ("CaptureFunction", None, {})
    route, params = table.match("GET", "/t/c/abc%20def")
    assert route.path == "/t/c/{token}" and route.function == "TrackFunction"
    assert params == {"token": "abc def"}
    assert table.match("POST", "/graphql")[0].authorizer == "CognitoJwt"
    assert table.match("GET", "/graphql")[0].authorizer is None
    for method, path in [("PUT", "/leads"), ("GET", "/leads"), ("POST", "/leads/"), ("GET", "/t/c/a/b"),
                         ("GET", "/t/c/"), ("GET", "/nope")]:
        assert table.match(method, path) is None, (method, path)


def test_most_specific_route_wins():
    table = RouteTable([Route("GET", "/items/{proxy+}", "Greedy", None), Route("GET", "/items/{id}", "One", None),
                        Route("GET", "/items/special", "Literal", None), Route("ANY", "/any", "Any", None)])
    assert table.match("GET", "/items/special")[0].function == "Literal"
    assert table.match("GET", "/items/7") == (Route("GET", "/items/{id}", "One", None), {"id": "7"})
    assert table.match("GET", "/items/7/parts/9")[1] == {"proxy": "7/parts/9"}
    assert table.match("DELETE", "/any")[0].function == "Any"


# ------------------------------------------------------------------ events
ROUTE_LEADS = Route("POST", "/leads", "CaptureFunction", None)


def test_http_api_v2_event_shape():
    request = HttpRequest(
        method="POST", target="/leads?utm_source=news&tag=a&tag=b&empty=",
        headers=[("Host", "127.0.0.1:8000"), ("Content-Type", "application/json"), ("User-Agent", "curl/8"),
                 ("X-Dup", "one"), ("x-dup", "two"), ("Cookie", "a=1; b=2")],
        body=b'{"firstName": "J\xc3\xb6rg"}', client_ip="10.1.2.3")
    event = build_event(request, ROUTE_LEADS, {}, domain_name="127.0.0.1:8000", now=1_700_000_000.5,
                        request_id="req-1")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /leads"
    assert event["rawPath"] == "/leads"
    assert event["rawQueryString"] == "utm_source=news&tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {"utm_source": "news", "tag": "a,b", "empty": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-dup"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-forwarded-for"] == "10.1.2.3"
    assert event["body"] == '{"firstName": "Jörg"}' and event["isBase64Encoded"] is False
    assert "pathParameters" not in event
    ctx = event["requestContext"]
    assert ctx["http"] == {"method": "POST", "path": "/leads", "protocol": "HTTP/1.1", "sourceIp": "10.1.2.3",
                           "userAgent": "curl/8"}
    assert ctx["routeKey"] == "POST /leads" and ctx["stage"] == "$default" and ctx["requestId"] == "req-1"
    assert ctx["accountId"] == "123456789012" and ctx["apiId"] and ctx["domainName"] == "127.0.0.1:8000"
    assert ctx["timeEpoch"] == 1_700_000_000_500
    assert ctx["time"] == "14/Nov/2023:22:13:20 +0000"
    assert "authorizer" not in ctx


def test_non_text_bodies_arrive_base64_encoded_like_http_apis():
    form = HttpRequest("POST", "/leads", [("content-type", "application/x-www-form-urlencoded")], b"a=1&b=%C3%A4")
    event = build_event(form, ROUTE_LEADS, {})
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"a=1&b=%C3%A4"
    binary = build_event(HttpRequest("POST", "/leads", [], b"\x00\xff"), ROUTE_LEADS, {})
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"
    empty = build_event(HttpRequest("GET", "/leads"), ROUTE_LEADS, {})
    assert "body" not in empty and empty["isBase64Encoded"] is False
    assert "queryStringParameters" not in empty and "cookies" not in empty
    assert all(is_text(t) for t in ("text/plain; charset=utf-8", "application/json", "application/vnd.x+json"))
    assert not any(is_text(t) for t in (None, "application/octet-stream", "image/png", "multipart/form-data"))


def test_path_parameters_are_decoded():
    route = Route("GET", "/t/c/{token}", "TrackFunction", None)
    event = build_event(HttpRequest("GET", "/t/c/a%2Bb%20c?x=1"), route, {"token": "a+b c"})
    assert event["pathParameters"] == {"token": "a+b c"}
    assert event["rawPath"] == "/t/c/a+b c" and event["routeKey"] == "GET /t/c/{token}"


# ------------------------------------------------------------------ responses
def test_lambda_results_become_http_like_api_gateway_does():
    full = to_http_response({"statusCode": 302, "headers": {"Location": "https://x.example/", "X-N": 5},
                             "cookies": ["a=1; Path=/", "b=2"], "body": ""})
    assert full.status == 302 and full.header("location") == "https://x.example/" and full.header("x-n") == "5"
    assert [v for k, v in full.headers if k == "set-cookie"] == ["a=1; Path=/", "b=2"]
    binary = to_http_response({"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(),
                               "isBase64Encoded": True})
    assert binary.body == b"\x89PNG"
    plain = to_http_response({"id": "L1"})
    assert (plain.status, plain.header("content-type"), json.loads(plain.body)) == (200, "application/json",
                                                                                    {"id": "L1"})
    text = to_http_response("hello")
    assert text.status == 200 and text.body == b"hello"
    assert to_http_response(None).body == b"null"


class FakeInvoker:
    def __init__(self, result=None, exc=None):
        self.events = []
        self.result = result if result is not None else {"statusCode": 200, "body": "ok"}
        self.exc = exc

    def invoke(self, function, event):
        self.events.append((function, event))
        if self.exc:
            raise self.exc
        return self.result


def _gateway(wiring, invoker):
    return Gateway(wiring.routes, invoker, auth.JwtAuthorizer(SECRET))


def test_jwt_route_refuses_missing_and_bad_tokens_with_api_gateway_401(wiring):
    invoker = FakeInvoker()
    gateway = _gateway(wiring, invoker)
    expired = auth.issue_token("admin", secret=SECRET, now=time.time() - 7200, ttl_seconds=3600)
    forged = auth.issue_token("admin", secret="not-the-stack-secret-0123456789abcdef")
    for headers in ([], [("Authorization", "Bearer " + expired)], [("Authorization", "Bearer " + forged)],
                    [("Authorization", "Basic dXNlcjpwdw==")]):
        response = gateway.handle(HttpRequest("POST", "/graphql", headers, b"{}"))
        assert response.status == 401
        assert json.loads(response.body) == {"message": "Unauthorized"}
    assert invoker.events == []


def test_jwt_claims_land_where_api_gateway_puts_them(wiring):
    invoker = FakeInvoker()
    gateway = _gateway(wiring, invoker)
    token = auth.issue_token("sales_rep", "rep-9", secret=SECRET)
    response = gateway.handle(HttpRequest("POST", "/graphql", [("Authorization", f"Bearer {token}"),
                                                               ("Content-Type", "application/json")], b"{}"))
    assert response.status == 200 and response.body == b"ok"
    function, event = invoker.events[0]
    assert function == "GraphqlFunction"
    jwt_block = event["requestContext"]["authorizer"]["jwt"]
    assert jwt_block["scopes"] is None
    assert jwt_block["claims"]["sub"] == "rep-9" and jwt_block["claims"]["cognito:groups"] == "[sales_rep]"
    assert jwt_block["claims"]["exp"].isdigit()
    # public routes get no authorizer block, even with a token
    gateway.handle(HttpRequest("POST", "/leads", [("Authorization", f"Bearer {token}")], b"{}"))
    assert "authorizer" not in invoker.events[1][1]["requestContext"]


def test_gateway_errors(wiring):
    not_found = _gateway(wiring, FakeInvoker()).handle(HttpRequest("GET", "/nope"))
    assert (not_found.status, json.loads(not_found.body)) == (404, {"message": "Not Found"})
    crash = _gateway(wiring, FakeInvoker(exc=RuntimeError("boom"))).handle(HttpRequest("POST", "/leads"))
    assert (crash.status, json.loads(crash.body)) == (500, {"message": "Internal Server Error"})
    missing = HandlerUnavailable("CaptureFunction", "functions.capture.handler", 501, "module missing")
    assert _gateway(wiring, FakeInvoker(exc=missing)).handle(HttpRequest("POST", "/leads")).status == 501
    bad = _gateway(wiring, FakeInvoker(result={"statusCode": 200, "body": {"not": "a string"}}))
    assert bad.handle(HttpRequest("POST", "/leads")).status == 500


def test_dev_routes_are_added_in_one_place_and_win(wiring):
    gateway = _gateway(wiring, FakeInvoker())
    gateway.add_dev_route("GET", "/dev/mail/{id}", lambda request, params: {"mail": params["id"]})
    response = gateway.handle(HttpRequest("GET", "/dev/mail/7"))
    assert json.loads(response.body) == {"mail": "7"}
    with pytest.raises(ValueError):
        gateway.add_dev_route("GET", "/mail", lambda r, p: None)


# ------------------------------------------------------------------ runtime
def test_handlers_load_lazily_and_missing_ones_are_501(wiring, tmp_path, monkeypatch):
    (tmp_path / "lf_broken_handler.py").write_text("raise ImportError('cannot import name x from y')\n")
    (tmp_path / "lf_ok_handler.py").write_text("def handler(event, context):\n    return context\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    runtime = LambdaRuntime(wiring, region="eu-central-1", overrides={
        "CaptureFunction": "lf_missing_handler.handler", "TrackFunction": "lf_broken_handler.handler",
        "ScoreFunction": "lf_ok_handler.nothing", "TrainFunction": "lf_ok_handler.handler"})
    with pytest.raises(HandlerUnavailable) as missing:
        runtime.load("CaptureFunction")
    assert missing.value.status == 501
    with pytest.raises(HandlerUnavailable) as broken:
        runtime.load("TrackFunction")
    assert broken.value.status == 502
    with pytest.raises(HandlerUnavailable) as no_attr:
        runtime.load("ScoreFunction")
    assert no_attr.value.status == 501
    assert "lf_ok_handler" not in sys.modules or runtime._handlers == {}

    context = runtime.invoke("TrainFunction", {})
    assert context.function_name == "leadflow-TrainFunction"
    assert context.memory_limit_in_mb == 1024  # from the template
    assert context.invoked_function_arn == "arn:aws:lambda:eu-central-1:123456789012:function:leadflow-TrainFunction"
    assert 299_000 < context.get_remaining_time_in_millis() <= 300_000
    assert context.aws_request_id and context.log_group_name == "/aws/lambda/leadflow-TrainFunction"


def test_each_function_runs_in_its_own_environment_with_an_event_loop(wiring, tmp_path, monkeypatch):
    (tmp_path / "lf_env_handler.py").write_text(
        "import asyncio, threading, time\n"
        "def loop_user(event, context):\n"
        "    loop = asyncio.get_event_loop()  # as Mangum does\n"
        "    return loop.run_until_complete(asyncio.sleep(0, result=threading.get_ident()))\n"
        "def sleeper(event, context):\n"
        "    time.sleep(event)\n"
        "    return 'woke'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    overrides = {"GraphqlFunction": "lf_env_handler.loop_user", "CaptureFunction": "lf_env_handler.sleeper"}
    runtime = LambdaRuntime(wiring, region="eu-central-1", overrides=overrides)
    try:
        threads = set()
        callers = [threading.Thread(target=lambda: threads.add(runtime.invoke("GraphqlFunction", {})))
                   for _ in range(4)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        assert len(threads) == 1 and threading.get_ident() not in threads  # one warm environment

        monkeypatch.setitem(runtime.wiring.functions, "CaptureFunction", _with_timeout(wiring, "CaptureFunction", 1))
        started = time.monotonic()
        with pytest.raises(LambdaTimeout, match="Task timed out after 1 seconds"):
            runtime.invoke("CaptureFunction", 3)
        assert time.monotonic() - started < 2
        assert runtime.invoke("GraphqlFunction", {}) in threads  # other functions are not held up
    finally:
        runtime.close()


def _with_timeout(wiring, function, seconds):
    import dataclasses

    return dataclasses.replace(wiring.functions[function], timeout=seconds)


# ------------------------------------------------------------------ SQS
def test_sqs_record_has_the_lambda_shape():
    message = {
        "MessageId": "m-1", "ReceiptHandle": "rh", "MD5OfBody": "md5", "Body": '{"leadId": "L1"}',
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000", "SenderId": "AID"},
        "MD5OfMessageAttributes": "md5a",
        "MessageAttributes": {"kind": {"StringValue": "capture", "DataType": "String"},
                              "blob": {"BinaryValue": b"\x01\x02", "DataType": "Binary"}},
    }
    record = sqs_record(message, queue_arn="arn:aws:sqs:eu-central-1:123456789012:q", region="eu-central-1")
    assert record == {
        "messageId": "m-1", "receiptHandle": "rh", "body": '{"leadId": "L1"}',
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000", "SenderId": "AID"},
        "messageAttributes": {
            "kind": {"stringValue": "capture", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "blob": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
        },
        "md5OfBody": "md5", "md5OfMessageAttributes": "md5a", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:q", "awsRegion": "eu-central-1",
    }


@pytest.mark.parametrize("result, report, failed", [
    ({"batchItemFailures": []}, True, set()),
    (None, True, set()),
    ({"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
    ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, {"a", "b", "c"}),  # unknown id: all fail
    ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b", "c"}),
    ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),  # not enabled: ignored
])
def test_batch_item_failures_are_interpreted_like_lambda(result, report, failed):
    assert failed_message_ids(result, ["a", "b", "c"], report_batch_item_failures=report) == failed


# ------------------------------------------------------------------ schedules
@pytest.mark.parametrize("expression, seconds", [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(12 hours)", 43200),
    ("rate(1 day)", 86400), ("rate(7 days)", 604800),
])
def test_rate_expressions(expression, seconds):
    assert parse_schedule(expression) == Rate(seconds)


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(1 week)", "every minute", "rate(-1 days)",
    "cron(0 8 * * *)", "cron(0 8 * * MON *)", "cron(0 8 ? * ? *)", "cron(0 8 L * ? *)", "cron(0 8 ? * 2#1 *)",
    "cron(61 8 * * ? *)", "cron(0 8 15W * ? *)",
])
def test_invalid_or_unsupported_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        parse_schedule(expression)


def test_every_template_schedule_parses(wiring):
    assert wiring.schedules
    for schedule in wiring.schedules:
        parse_schedule(schedule.expression)


@pytest.mark.parametrize("expression, after, expected", [
    ("cron(0 8 * * ? *)", "2026-11-22T07:59", "2026-11-22T08:00"),
    ("cron(0 8 * * ? *)", "2026-11-22T08:00", "2026-11-23T08:00"),
    ("cron(*/15 * * * ? *)", "2026-11-22T10:07", "2026-11-22T10:15"),
    ("cron(0 9 ? * MON-FRI *)", "2026-11-21T12:00", "2026-11-23T09:00"),  # Saturday -> Monday
    ("cron(30 6 ? * 1 *)", "2026-11-22T07:00", "2026-11-29T06:30"),  # 1 = Sunday
    ("cron(0 0 1 JAN ? 2027)", "2026-11-22T00:00", "2027-01-01T00:00"),
    ("cron(0 12 29 2 ? *)", "2026-03-01T00:00", "2028-02-29T12:00"),
    ("cron(5,35 14 * * ? *)", "2026-11-22T14:06", "2026-11-22T14:35"),
])
def test_cron_next_fire(expression, after, expected):
    parsed = parse_schedule(expression)
    assert isinstance(parsed, Cron)
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert parsed.next_after(moment) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_speed_divides_real_waiting_time():
    clock = SimClock(speed=60)
    assert clock.real_seconds_until(clock.now() + timedelta(minutes=1)) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError):
        SimClock(speed=0)


def test_scheduled_event_shape():
    event = scheduled_event("arn:aws:events:eu-central-1:123456789012:rule/r",
                            region="eu-central-1", when=datetime(2026, 11, 22, 12, 0, 5, tzinfo=UTC))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/r"]
    assert event["time"] == "2026-11-22T12:00:05Z" and event["detail"] == {}
    assert event["account"] == "123456789012" and event["region"] == "eu-central-1" and event["id"]


class RecordingRuntime:
    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def handler_path(self, function):
        return {"Sweep": "functions.nurture_sweep.handler"}.get(function, f"functions.{function.lower()}.handler")

    def invoke(self, function, event):
        with self.lock:
            self.calls.append((function, event))
        if function == "Broken":
            raise RuntimeError("the ticker keeps going")
        return {"function": function}


def test_tickers_fire_with_speed_up_and_trigger_on_demand():
    runtime = RecordingRuntime()
    schedules = [Schedule("SweepEveryMinute", "Sweep", "rate(1 minute)"),
                 Schedule("BrokenEveryMinute", "Broken", "rate(1 minute)"),
                 Schedule("DailyTrain", "Train", "rate(1 day)")]
    scheduler = Scheduler(schedules, runtime=runtime, region="eu-central-1", speed=600)  # 1 min -> 0.1 s
    scheduler.start()
    try:
        time.sleep(0.75)
    finally:
        scheduler.signal_stop()
        scheduler.join()
    fired = [f for f, _ in runtime.calls]
    assert 4 <= fired.count("Sweep") <= 8
    assert fired.count("Broken") >= 4  # an error does not stop the ticker
    assert "Train" not in fired
    event = next(e for f, e in runtime.calls if f == "Sweep")
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"][0].endswith(":rule/leadflow-SweepEveryMinute")

    assert scheduler.find("nurture_sweep").name == "SweepEveryMinute"
    assert scheduler.find("train").name == "DailyTrain"
    assert scheduler.find("sweepeveryminute").function == "Sweep"
    assert scheduler.find("unknown") is None
    assert scheduler.trigger(scheduler.find("DailyTrain")) == {"function": "Train"}


def test_environment_untouched_by_unit_tests():
    assert "LEADFLOW_LOCAL_BASE_URL" not in os.environ
