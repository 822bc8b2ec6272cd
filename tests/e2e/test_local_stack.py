"""The local stack over HTTP.

- `leadflow dev` as a subprocess (proves the CLI, real handlers, tokens from
  `leadflow token`, Ctrl-C, two instances side by side);
- `LocalStack` in process with tiny fake handlers (tests/e2e/localstack_fakes.py)
  for the plumbing: the HTTP API event over the wire, responses, JWT claims,
  queue retries and the dead-letter queue, schedule tickers with speed-up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra.auth import issue_token

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "e2e-local-stack-secret-0123456789abcdefghij"
FAKES = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "localstack_fakes"
ANNA = {"firstName": "Anna", "lastName": "Schmidt", "email": "anna.schmidt@example.org", "country": "DE",
        "consent": {"purposes": ["email_marketing"], "textVersion": "v1"}}
LEAD_QUERY = "query($id: ID!) { lead(id: $id) { id stage history { __typename kind toStage actor } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, timeout: float, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s: {message}")
        time.sleep(interval)


# ------------------------------------------------------------------ the CLI stack
class DevProcess:
    def __init__(self, tmp: Path, name: str, *args: str, state_dir: Path | None = None, demo: bool = False):
        """`state_dir`: register as `leadflow dev` does by default (per user), there; else `--state-file`.
        `demo`: with the demo data (`wait_for_demo` waits until it is in)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.state_file = state_dir / f"stack-{self.port}.json" if state_dir else tmp / f"{name}-stack.json"
        env = {**os.environ, "LEADFLOW_DEV_SECRET": SECRET}
        for key in ("PORT", "AWS_ENDPOINT_URL", "LEADFLOW_LOCAL_BASE_URL"):
            env.pop(key, None)
        if state_dir:
            env["LEADFLOW_STATE_DIR"] = str(state_dir)
        self._log_file = self.log.open("wb")
        started = time.monotonic()
        where = [] if state_dir else ["--state-file", str(self.state_file)]
        self.proc = subprocess.Popen([str(BIN / "leadflow"), "dev", "--port", str(self.port),
                                      *([] if demo else ["--no-demo"]), *where, *args],
                                     cwd=REPO, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.proc.kill()  # never leave a stack running behind a failed test
            self.proc.wait()
            self._log_file.close()
            raise
        self.ready_after = time.monotonic() - started

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"leadflow dev exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                # the port is bound early (a busy port fails fast): connections wait until ready
                if requests.get(self.base_url + "/dev/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"leadflow dev not ready after {timeout} s:\n{self.tail()}")

    def wait_for_demo(self, timeout: float = 120) -> None:
        """The banner comes after the demo leads are in and the demo funnel was worked."""
        eventually(lambda: "Ctrl-C stops everything." in self.log.read_text(errors="replace"), timeout,
                   interval=1, message=f"the demo data:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def interrupt(self, sig: int = signal.SIGINT, timeout: float = 30) -> tuple[int, float]:
        """Signal and wait; fails if the stack ignores the signal (the bound is generous: a loaded
        CI machine is slow; how fast it stops is not a test's business)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"leadflow dev ignored {signal.Signals(sig).name} for {timeout} s:\n{self.tail()}")
        finally:
            self._log_file.close()
        return code, time.monotonic() - started


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    process = DevProcess(tmp_path_factory.mktemp("dev"), "a")
    yield process
    if process.proc.poll() is None:
        code, _ = process.interrupt(signal.SIGTERM)
        assert code == 0, process.tail()


def cli_token(role: str) -> str:
    out = subprocess.run([str(BIN / "leadflow"), "token", "--role", role], cwd=REPO, check=True,
                         capture_output=True, text=True, env={**os.environ, "LEADFLOW_DEV_SECRET": SECRET})
    return out.stdout.strip()


def test_capture_then_graphql_through_the_cli_stack(dev):
    response = requests.post(dev.base_url + "/leads", json=ANNA, timeout=30)
    if response.status_code == 501:
        pytest.skip("POST /leads handler not built yet")
    assert response.status_code == 202, response.text
    lead_id = response.json()["id"]

    headers = {"Authorization": f"Bearer {cli_token('admin')}"}

    def lead_with_history():
        answer = requests.post(dev.base_url + "/graphql", json={"query": LEAD_QUERY, "variables": {"id": lead_id}}, headers=headers, timeout=30)
        assert answer.status_code == 200, f"{answer.text}\n{dev.tail()}"
        lead = (answer.json().get("data") or {}).get("lead")
        return lead if lead and lead["history"] else None

    lead = eventually(lead_with_history, timeout=30, interval=0.3, message="lead never showed up in GraphQL")
    assert lead["id"] == lead_id
    # captured into LEAD; qualification may already have moved it on (example.org is a placeholder
    # domain, which the plausibility checks disqualify)
    first = lead["history"][0]
    assert (first["__typename"], first["kind"], first["toStage"]) == ("HistoryEntry", "stage", "LEAD")
    assert lead["stage"] in {"LEAD", "MQL", "DISQUALIFIED"}


def test_jwt_route_refuses_missing_bad_and_expired_tokens(dev):
    expired = issue_token("admin", secret=SECRET, now=time.time() - 7200, ttl_seconds=60)
    forged = issue_token("admin", secret="some-other-secret-0123456789abcdefghijk")
    for headers in ({}, {"Authorization": f"Bearer {expired}"}, {"Authorization": f"Bearer {forged}"}):
        response = requests.post(dev.base_url + "/graphql", json={"query": "{ __typename }"}, headers=headers,
                                 timeout=10)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}


def test_unknown_routes_are_404(dev):
    response = requests.get(dev.base_url + "/does-not-exist", timeout=10)
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
    assert requests.delete(dev.base_url + "/leads", timeout=10).status_code == 404


def test_schedules_from_the_template_can_be_run_now(dev):
    listed = requests.get(dev.base_url + "/dev/schedules", timeout=10).json()
    assert {s["name"] for s in listed} >= {"NurtureSweepFunctionEveryMinute", "SlaSweepFunctionEveryFiveMinutes"}
    response = requests.post(dev.base_url + "/dev/schedules/nurture_sweep", timeout=60)
    if response.status_code == 501:
        pytest.skip("nurture sweep handler not built yet")
    assert response.status_code == 200, response.text
    assert response.json()["schedule"] == "NurtureSweepFunctionEveryMinute"
    assert requests.post(dev.base_url + "/dev/schedules/nope", timeout=10).status_code == 404


def test_a_burst_of_50_concurrent_captures_loses_no_connection_and_no_lead(dev):
    """50 web forms posted at the same moment, each on its own connection: every one is accepted
    (none reset or refused) and every lead is stored."""
    import threading

    n = 50
    answers: list = [None] * n
    gate = threading.Barrier(n)

    def post(i: int) -> None:
        body = {**ANNA, "lastName": f"Burst{i}", "email": f"burst{i}@lindner-holz.de"}
        gate.wait()
        try:
            answers[i] = requests.post(dev.base_url + "/leads", json=body, timeout=120)
        except requests.RequestException as exc:
            answers[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [a if isinstance(a, Exception) else f"{a.status_code} {a.text[:100]}" for a in answers
              if isinstance(a, Exception) or a.status_code != 202]
    assert failed == [], f"{len(failed)} of {n} captures failed: {failed[:3]}"
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == n

    headers = {"Authorization": f"Bearer {cli_token('admin')}"}
    for lead_id in ids:
        answer = requests.post(dev.base_url + "/graphql", json={"query": LEAD_QUERY, "variables": {"id": lead_id}},
                               headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["data"]["lead"] or {}).get("id") == lead_id


def test_second_instance_side_by_side_and_ctrl_c(dev, tmp_path):
    import boto3

    other = DevProcess(tmp_path, "b", "--no-schedules")
    try:
        assert other.port != dev.port
        info_a = requests.get(dev.base_url + "/dev/info", timeout=10).json()
        info_b = requests.get(other.base_url + "/dev/info", timeout=10).json()
        assert info_a["awsEndpoint"] != info_b["awsEndpoint"]
        assert requests.get(dev.base_url + "/dev/health", timeout=10).ok

        # separate emulators, separate state
        def sqs(info):
            return boto3.client("sqs", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        sqs(info_a).send_message(QueueUrl=info_a["queues"]["DeadLetterQueue"], MessageBody="only-in-a")
        in_b = sqs(info_b).receive_message(QueueUrl=info_b["queues"]["DeadLetterQueue"], WaitTimeSeconds=0)
        assert "Messages" not in in_b
        in_a = sqs(info_a).receive_message(QueueUrl=info_a["queues"]["DeadLetterQueue"], WaitTimeSeconds=0)
        assert [m["Body"] for m in in_a["Messages"]] == ["only-in-a"]
    finally:
        code, _ = other.interrupt(signal.SIGINT)
    assert code == 0, other.tail()
    assert "local stack stopped" in other.log.read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(other.base_url + "/dev/health", timeout=2)
    assert requests.get(dev.base_url + "/dev/health", timeout=10).ok  # the first one is unaffected
    print(f"leadflow dev ready after {other.ready_after:.2f} s (process start to first answer)")


# ------------------------------------------------------------------ in-process plumbing
@pytest.fixture(scope="module")
def fakes():
    import importlib

    return importlib.import_module(FAKES)


@pytest.fixture(scope="module")
def local(fakes):
    from infra.local_stack import LocalStack

    handlers = {
        "CaptureFunction": f"{FAKES}.echo", "GraphqlFunction": f"{FAKES}.echo", "TrackFunction": f"{FAKES}.track",
        "QualifyFunction": f"{FAKES}.intake", "ScoreFunction": f"{FAKES}.record_only",
        "RouteFunction": f"{FAKES}.record_only", "NurtureSweepFunction": f"{FAKES}.record_only",
        "SlaSweepFunction": f"{FAKES}.record_only", "TrainFunction": f"{FAKES}.record_only",
    }
    def environment():
        return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}

    before = environment()
    # speed 600: rate(1 minute) fires every 0.1 s, rate(5 minutes) every 0.5 s, rate(1 day) every 144 s
    with LocalStack(port=0, secret=SECRET, handlers=handlers, visibility_timeout=1, speed=600) as stack:
        assert stack.startup_seconds < 15
        yield stack
    assert environment() == before  # the process environment is restored


def test_http_api_event_over_the_wire(local):
    response = requests.post(local.base_url + "/leads?utm_source=news&tag=a&tag=b",
                             data=json.dumps({"firstName": "Jörg"}).encode(),
                             headers={"Content-Type": "application/json", "X-Trace": "t1"},
                             cookies={"consent": "yes"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-function"] == "leadflow-CaptureFunction"
    assert response.cookies.get("session") == "abc" and response.cookies.get("theme") == "dark"
    event, context = response.json()["event"], response.json()["context"]
    assert event["version"] == "2.0" and event["routeKey"] == "POST /leads"
    assert event["rawPath"] == "/leads" and event["rawQueryString"] == "utm_source=news&tag=a&tag=b"
    assert event["queryStringParameters"] == {"utm_source": "news", "tag": "a,b"}
    assert event["cookies"] == ["consent=yes"]
    assert event["headers"]["x-trace"] == "t1" and event["headers"]["host"] == f"127.0.0.1:{local.port}"
    assert json.loads(event["body"]) == {"firstName": "Jörg"} and event["isBase64Encoded"] is False
    http = event["requestContext"]["http"]
    assert http["method"] == "POST" and http["path"] == "/leads" and http["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["stage"] == "$default"
    assert context["memory_limit_in_mb"] == 512 and 0 < context["remaining_ms"] <= 10_000

    form = requests.post(local.base_url + "/leads", data={"firstName": "Anna"}, timeout=10).json()["event"]
    assert form["isBase64Encoded"] is True


def test_claims_from_a_token_reach_the_function(local):
    with pytest.raises(ValueError, match="'rep-7' is not a sales_rep .*known: anna.becker"):
        local.token("sales_rep", "rep-7")  # its inbox would be silently empty
    token = local.token("sales_rep", "mehmet.yilmaz")
    response = requests.post(local.graphql_url, json={"query": "{ x }"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    jwt_block = response.json()["event"]["requestContext"]["authorizer"]["jwt"]
    assert jwt_block["claims"]["sub"] == "mehmet.yilmaz" and jwt_block["claims"]["cognito:groups"] == "[sales_rep]"
    assert jwt_block["scopes"] is None
    assert requests.post(local.graphql_url, json={}, timeout=10).status_code == 401
    # GET /graphql is public in the template (GraphiQL)
    assert requests.get(local.graphql_url, timeout=10).status_code == 200


def test_responses_binary_plain_and_crash(local):
    pixel = requests.get(local.base_url + "/t/o/tok-1", timeout=10)
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert pixel.content.startswith(b"GIF89a")
    assert requests.get(local.base_url + "/t/c/a%20b", timeout=10).json() == {"token": "a b"}
    crash = requests.post(local.base_url + "/events", json={}, timeout=10)
    assert (crash.status_code, crash.json()) == (500, {"message": "Internal Server Error"})


def test_poison_message_reaches_the_dlq_without_blocking_others(local, fakes):
    sqs = local.client("sqs")
    intake, dlq = local.stack.queue_url("IntakeQueue"), local.stack.queue_url("DeadLetterQueue")
    sqs.send_message_batch(QueueUrl=intake, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "poison", "ok-2", "raise-once"])])

    def bodies():
        return [c["body"] for c in fakes.calls("intake")]

    eventually(lambda: {"ok-1", "ok-2", "poison"} <= set(bodies()), 10, message=f"got {bodies()}")
    sqs.send_message(QueueUrl=intake, MessageBody="ok-late")  # while the poison one is still retrying
    eventually(lambda: "ok-late" in bodies(), 5, message="a later message waited for the poison one")

    def poison_in_dlq():
        return sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages")

    dead = eventually(poison_in_dlq, timeout=20, interval=0.1, message="poison message never reached the DLQ")
    assert [m["Body"] for m in dead] == ["poison"]
    calls = fakes.calls("intake")
    assert [c["count"] for c in calls if c["body"] == "poison"] == [1, 2, 3, 4, 5]  # maxReceiveCount 5
    assert [c["body"] for c in calls].count("ok-late") == 1
    # the batch that crashed came back once; ok messages in it were delivered again (at least once)
    raise_counts = [c["count"] for c in calls if c["body"] == "raise-once"]
    assert raise_counts[:2] == [1, 2] and len(raise_counts) == 2
    record = calls[0]["record"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == local.stack.queue_arn("IntakeQueue")
    assert {"ApproximateReceiveCount", "SentTimestamp"} <= set(record["attributes"])
    assert record["awsRegion"] == local.region and record["md5OfBody"]
    attrs = sqs.get_queue_attributes(QueueUrl=intake, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_schedules_tick_with_speed_up_and_run_on_demand(local, fakes):
    eventually(lambda: len(fakes.calls("leadflow-NurtureSweepFunction")) >= 3, 5,
               message="rate(1 minute) at speed 600 should fire every 0.1 s")
    event = fakes.calls("leadflow-NurtureSweepFunction")[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [
        f"arn:aws:events:{local.region}:123456789012:rule/leadflow-NurtureSweepFunctionEveryMinute"]
    assert fakes.calls("leadflow-TrainFunction") == []  # rate(1 day) / 600 = 144 s
    response = requests.post(local.base_url + "/dev/schedules/TrainFunctionDaily", timeout=10)
    assert response.status_code == 200
    assert response.json()["result"] == {"ok": True, "function": "leadflow-TrainFunction"}
    assert len(fakes.calls("leadflow-TrainFunction")) == 1
