"""The built Lambda artifacts, for the package test and the cold-start bench.

`artifacts(out)` builds every function of template.yaml with scripts/build_function.py, the
script `sam build` runs for each function (make build-<LogicalId>); `runtime_dir()` is what the
Lambda Python runtime puts beside the handler: boto3 and its dependencies, nothing else.
`lambda_python` runs a clean interpreter of the runtime's version: `-I -S` (no user site, no
site-packages, no PYTHON* variables) and sys.path = [artifact, runtime] + the standard library,
as /var/task and /var/runtime on Lambda.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME_REQUIREMENTS = ["boto3>=1.34,<2"]  # the runtime's boto3, botocore, s3transfer, jmespath, dateutil, urllib3, six


def build_script():
    spec = importlib.util.spec_from_file_location("build_function", REPO / "scripts" / "build_function.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_function", module)
    spec.loader.exec_module(module)
    return sys.modules["build_function"]


def runtime_function():
    """Runtime and architecture (the template's Globals): any function tells."""
    return next(iter(build_script().functions().values()))


def lambda_python() -> str:
    bf = build_script()
    return bf.lambda_python(runtime_function().python_version)


def runtime_dir() -> Path:
    """boto3 as the Lambda runtime ships it (cached under .leadflow/build), compiled."""
    bf = build_script()
    fn = runtime_function()
    target = bf.CACHE / f"runtime-{fn.runtime}"
    if not (target / ".complete").exists():
        python = lambda_python()
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                        "--target", str(target), *RUNTIME_REQUIREMENTS], check=True,
                       env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"})
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(target)], check=True,
                       stdout=subprocess.DEVNULL)
        (target / ".complete").write_text("")
    return target


def artifacts(out: Path) -> dict[str, dict]:
    """Every function's artifact in out/<LogicalId>; {logical id: what went in}."""
    bf = build_script()
    python = lambda_python()
    return {fn.logical_id: bf.build(fn, out / fn.logical_id, python) for fn in bf.functions().values()}


def clean_interpreter(artifact: Path, runtime: Path, code: str, env: dict[str, str] | None = None,
                      flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that sees only the artifact, the runtime's boto3 and the
    standard library."""
    prelude = f"import sys; sys.path[:0] = [{str(artifact)!r}, {str(runtime)!r}]; "
    return subprocess.run([lambda_python(), "-I", "-S", "-B", *flags, "-c", prelude + code], cwd=artifact,
                          env=env if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                          capture_output=True, text=True, timeout=120)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
