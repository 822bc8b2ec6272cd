"""The CLI finds the running local stack from any directory (leadflow/cli/_aws.py)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from leadflow.cli._aws import connect, stack_file


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A per-user state dir, and a working directory that is no checkout."""
    monkeypatch.setenv("LEADFLOW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PORT", raising=False)
    work = tmp_path / "somewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    before = dict(os.environ)
    yield tmp_path
    os.environ.clear()  # connect() points this process at the stack: undo it for the other tests
    os.environ.update(before)
    from leadflow.settings import get_settings

    get_settings.cache_clear()


def register(port: int, pid: int) -> None:
    path = stack_file(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"endpoint": f"http://127.0.0.1:{port + 1}", "port": port, "pid": pid,
                                "env": {"LEADS_TABLE": f"leads-{port}"}}))


def dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(process.stdout)


def args(**kw) -> argparse.Namespace:
    return argparse.Namespace(aws=False, stack_file=None, **kw)


def test_the_cli_finds_the_running_stack_from_any_directory(elsewhere):
    register(8000, os.getpid())
    register(8001, dead_pid())  # killed without cleaning up
    connect(args())
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8001"
    assert os.environ["LEADS_TABLE"] == "leads-8000"
    assert not stack_file(8001).exists()  # the dead stack's file is gone


def test_no_running_stack_says_how_to_start_one(elsewhere):
    register(8000, dead_pid())
    with pytest.raises(SystemExit, match="no local stack running.*make dev"):
        connect(args())


def test_with_several_stacks_port_chooses(elsewhere, monkeypatch):
    register(8000, os.getpid())
    register(8100, os.getpid())
    with pytest.raises(SystemExit, match=r"several local stacks run \(ports 8000, 8100\)"):
        connect(args())
    monkeypatch.setenv("PORT", "8100")
    connect(args())
    assert os.environ["LEADS_TABLE"] == "leads-8100"
