"""Cold-start import time per Lambda function, from the artifacts `sam build` ships.

Every function of template.yaml (read through infra.template.load_wiring) is built by
scripts/build_function.py, the script `sam build` runs (make build-<LogicalId>). A fresh
interpreter of the runtime's Python (`-I -S`: nothing of this venv) with sys.path = [the artifact,
the runtime's boto3] + the standard library, as /var/task and /var/runtime on Lambda, runs
`python -X importtime -c "import <handler module>"` with the environment that function gets on
AWS (table names, queue URLs, ... resolved to placeholder names; the Lambda variables; tracing
active as `Tracing: Active` has it). In the same run a bare `import boto3` from the same runtime
directory is the baseline. The import time is the sum of the cumulative times of the top-level
imports (the interpreter's own start-up is not included); the median of `runs` runs is reported,
with the packages whose own import time is largest and the artifact's unzipped size.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MARK = "@@leadflow-bench-import@@"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")
# Libraries worth knowing about when they appear in a function's cold start.
NOTABLE = ("aws_xray_sdk", "strawberry", "graphql", "mangum", "pynamodb", "numpy", "jinja2", "phonenumbers",
           "pydantic", "yaml", "holidays", "rapidfuzz", "email_validator", "disposable_email_domains", "boto3",
           "botocore", "aws_lambda_powertools", "starlette", "sklearn", "dateutil")


@dataclass
class ColdStart:
    function: str  # logical id
    handler: str
    memory_mb: int
    runs_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    heaviest: list[tuple[str, float]] = field(default_factory=list)  # (package, ms self time), median run
    notable: list[str] = field(default_factory=list)
    modules: int = 0
    size_mb: float = 0.0  # the artifact, unzipped
    error: str | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms) if self.runs_ms else float("nan")


def _placeholder(value: Any, logical_names: set[str], parameters: dict[str, Any]) -> str:
    """Resolve a CloudFormation value without AWS: names that look like what would be deployed."""
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in parameters:
            return str(parameters[name].get("Default", ""))
        if name == "AWS::Region":
            return "eu-central-1"
        if name.endswith("Queue") or name.endswith("DLQ"):
            return f"https://sqs.eu-central-1.amazonaws.com/123456789012/leadflow-prod-{name}"
        return f"leadflow-prod-{name}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        logical = target[0] if isinstance(target, list) else target.split(".")[0]
        return f"arn:aws:lambda:eu-central-1:123456789012:{logical}"
    if isinstance(value, dict) and "Fn::Sub" in value:
        spec = value["Fn::Sub"]
        text = spec if isinstance(spec, str) else spec[0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: _placeholder({"Ref": m.group(1)}, logical_names, parameters),
                      text)
    if isinstance(value, dict) and "Fn::If" in value:
        return _placeholder(value["Fn::If"][1], logical_names, parameters)
    return "placeholder"


def functions() -> list[tuple[str, str, int, dict[str, str]]]:
    """(logical id, handler, memory MB, environment) of every function in template.yaml."""
    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    parameters = wiring.template.get("Parameters", {})
    out = []
    for logical_id, spec in sorted(wiring.functions.items()):
        props = wiring.resources[logical_id]["Properties"]
        memory = int(props.get("MemorySize", 128))
        env = {k: _placeholder(v, set(wiring.resources), parameters) for k, v in spec.environment.items()}
        out.append((logical_id, spec.handler, memory, env))
    return out


def lambda_environment(logical_id: str, memory: int, function_env: dict[str, str]) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": ":UTC",
        "HOME": tempfile.gettempdir(),
        "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": f"leadflow-prod-{logical_id}", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory), "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(REPO), "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(function_env)
    return env


def measure_once(module: str, env: dict[str, str], artifact: Path, runtime: Path
                 ) -> tuple[float, float, dict[str, float], set[str], int]:
    """(import ms, wall ms, {package: self ms}, modules, count) of one fresh interpreter."""
    from tests import packaging

    code = (f"import time; sys.stderr.write({MARK!r} + '\\n'); sys.stderr.flush(); "
            f"t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)")
    done = packaging.clean_interpreter(artifact, runtime, code, env=env, flags=("-X", "importtime"))
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    lines = done.stderr.split(MARK, 1)[1].splitlines()
    total_us = 0
    per_package: dict[str, float] = defaultdict(float)
    names: set[str] = set()
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = int(match[1]), int(match[2]), match[3], match[4]
        if len(indent) == 0:
            total_us += cumulative_us
        per_package[name.split(".")[0]] += self_us / 1000
        names.add(name)
    return total_us / 1000, float(done.stdout.strip().splitlines()[-1]), per_package, names, len(names)


@dataclass
class Baseline:
    runs_ms: list[float] = field(default_factory=list)  # bare `import boto3`, same interpreter and runtime dir

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms) if self.runs_ms else float("nan")


def run(runs: int = 5, progress: bool = True) -> tuple[Baseline, list[ColdStart]]:
    from tests import packaging

    out = Path(tempfile.mkdtemp(prefix="leadflow-artifacts-"))
    try:
        built = packaging.artifacts(out)
        runtime = packaging.runtime_dir()
        baseline = Baseline()
        results = []
        envs = {logical_id: (handler, memory, function_env) for logical_id, handler, memory, function_env in functions()}
        for i in range(runs):  # interleaved: the baseline sees the same machine state as the functions
            some = next(iter(envs))
            env = lambda_environment(some, envs[some][1], envs[some][2])
            baseline.runs_ms.append(measure_once("boto3", env, out / some, runtime)[0])
        for logical_id, (handler, memory, function_env) in envs.items():
            module = handler.rsplit(".", 1)[0]
            result = ColdStart(logical_id, handler, memory, size_mb=built[logical_id]["bytes"] / 1e6)
            artifact = out / logical_id
            env = lambda_environment(logical_id, memory, function_env)
            env["LAMBDA_TASK_ROOT"] = str(artifact)
            samples = []
            try:
                for _ in range(runs):
                    samples.append(measure_once(module, env, artifact, runtime))
                    baseline.runs_ms.append(measure_once("boto3", env, artifact, runtime)[0])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                result.error = str(exc)
                results.append(result)
                continue
            result.runs_ms = [s[0] for s in samples]
            result.wall_ms = [s[1] for s in samples]
            median_run = sorted(samples, key=lambda s: s[0])[len(samples) // 2]
            packages = median_run[2]
            ours = {"functions", "leadflow"}
            result.heaviest = sorted(((p, ms) for p, ms in packages.items() if p not in ours),
                                     key=lambda x: -x[1])[:5]
            own = sum(packages.get(p, 0.0) for p in ours)
            if own:
                result.heaviest.append(("(leadflow + functions)", own))
            result.notable = [n for n in NOTABLE if n in {name.split(".")[0] for name in median_run[3]}]
            result.modules = median_run[4]
            results.append(result)
            if progress:
                print(f"  cold start {logical_id}: {result.median_ms:.0f} ms "
                      f"({result.median_ms / baseline.median_ms:.2f}x import boto3)", file=sys.stderr, flush=True)
        return baseline, results
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
