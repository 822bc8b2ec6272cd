"""Shared fixtures. Integration tests run on in-process moto, provisioned from
template.yaml by the same code as the local stack (infra.provision)."""

from __future__ import annotations

import os
from contextlib import contextmanager

# Before anything imports boto3/pynamodb: a fake account, never a real one.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "LeadflowTest",
    "POWERTOOLS_DEV": "false", "LEADFLOW_STAGE": "dev",
})
os.environ.pop("AWS_ENDPOINT_URL", None)

import pytest

from leadflow.runtime import reset_process_caches

LOCAL_PARAMETERS = {"PublicBaseUrl": "http://127.0.0.1:8000"}
KEYS_SEED = "test-secret-test-secret-test-secret-0000"  # the keys SecureString is derived from it


@pytest.fixture
def aws(monkeypatch):
    """A fresh emulated AWS account with every resource template.yaml declares."""
    from moto import mock_aws

    from infra.emulator import fast_dynamodb
    from infra.provision import provision
    from infra.template import load_wiring

    fast_dynamodb()
    with mock_aws():
        stack = provision(load_wiring(parameters={"Stage": "dev"}), name="leadflow", parameters=LOCAL_PARAMETERS,
                          keys_seed=KEYS_SEED)
        for key, value in stack.environment().items():
            monkeypatch.setenv(key, value)
        reset_process_caches()
        with _streams_settled(stack):
            yield stack
        reset_process_caches()


@contextmanager
def _streams_settled(stack):
    """The outbox stream consumers run before anyone reads a queue (tests.helpers.settle)."""
    import boto3

    from tests import helpers

    helpers.CURRENT_STACK["stack"] = stack
    events = boto3._get_default_session().events
    events.register("before-call.sqs.ReceiveMessage", helpers.settle_before_receive, unique_id="settle-streams")
    try:
        yield
    finally:
        events.unregister("before-call.sqs.ReceiveMessage", unique_id="settle-streams")
        helpers.CURRENT_STACK.clear()


@pytest.fixture
def aws_server(monkeypatch):
    """Like `aws`, but moto in server mode on loopback: real HTTP, safe for concurrent threads."""
    from infra.emulator import start_local_aws
    from infra.provision import provision
    from infra.template import load_wiring

    server, endpoint = start_local_aws()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        stack = provision(load_wiring(parameters={"Stage": "dev"}), name="leadflow", endpoint_url=endpoint,
                          parameters=LOCAL_PARAMETERS, keys_seed=KEYS_SEED)
        for key, value in stack.environment().items():
            monkeypatch.setenv(key, value)
        reset_process_caches()
        yield stack
    finally:
        reset_process_caches()
        server.stop()


# ------------------------------------------------------------------ IAM probe
# Every AWS call a handler makes during the suite (in process and in `leadflow dev`
# subprocesses) is recorded and, at the end, checked against that function's policies in
# the transformed template: moto checks no IAM policy. A call the policy does not allow
# fails the run; unused grants are listed in .leadflow/iam-probe.txt.
def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    from infra import iam_probe
    from infra.template import load_wiring

    if not _is_xdist_worker(config) and not os.environ.get(iam_probe.LOG_DIR_ENV):
        import tempfile

        os.environ[iam_probe.LOG_DIR_ENV] = tempfile.mkdtemp(prefix="leadflow-iam-")
    config._iam_probe_dir = os.environ[iam_probe.LOG_DIR_ENV]
    iam_probe.install(load_wiring(parameters={"Stage": "dev"}))


def pytest_sessionfinish(session, exitstatus):
    if _is_xdist_worker(session.config):
        return
    from pathlib import Path

    from infra import iam_probe
    from infra.template import REPO_ROOT, load_wiring

    calls = iam_probe.read_calls(Path(session.config._iam_probe_dir))
    if not calls:
        return
    report = iam_probe.check(calls, load_wiring(parameters={"Stage": "dev"}))
    out = REPO_ROOT / ".leadflow" / "iam-probe.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report.text() + "\n")
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line("")
        terminal.write_line(report.text().splitlines()[0] + f" (details: {out.relative_to(REPO_ROOT)})")
        for call in report.denied:
            terminal.write_line(f"  NOT PERMITTED  {call.function}: {call.action} on {call.resource}", red=True)
    if report.denied and session.exitstatus == 0:
        session.exitstatus = 1
