"""What `sam build` ships works on Lambda: every function's artifact, built by the script SAM runs
(make build-<LogicalId> -> scripts/build_function.py), imports its handler in a clean interpreter of
the runtime's Python with only the runtime's boto3 beside it, carries only what the function
imports, and brings .pyc files that stay valid in the deploy zip (every file dated 1980-01-01)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from infra.template import load_wiring
from tests import packaging
from tests.bench.coldstart import functions as function_environments
from tests.bench.coldstart import lambda_environment

MB = 1_000_000
LIMIT_MB = 50
ZIP_EPOCH = 315532800  # 1980-01-01: the date `sam deploy` gives every file in the zip
# numpy where a model is trained only: the score function applies it in pure Python.
NUMPY_FUNCTIONS = {"TrainFunction"}
# Powertools' API Gateway resolver (GraphQL answers through Strawberry, capture its one route itself:
# the resolver package loads every event source's resolver at the cold start)
RESOLVER_FUNCTIONS = {"TrackFunction"}
# Cold start (docs/benchmarks.md): capture checks the form without pydantic; GraphQL loads the rule
# sets (pydantic, YAML) only in the resolvers that need them and runs without an ASGI stack.
NOT_AT_COLD_START = {
    "CaptureFunction": ("pydantic", "pydantic_core"),
    "GraphqlFunction": ("pydantic", "pydantic_core", "yaml", "mangum", "starlette", "anyio"),
}
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    return out, packaging.artifacts(out)


@pytest.fixture(scope="module")
def runtime():
    return packaging.runtime_dir()


def test_the_build_reads_each_function_from_the_template_as_the_stack_does():
    wiring = load_wiring(parameters={"Stage": "prod"})
    built = packaging.build_script().functions()
    assert {k: f.handler for k, f in built.items()} == {k: f.handler for k, f in wiring.functions.items()}
    for logical_id, props in ((k, wiring.resources[k]["Properties"]) for k in wiring.functions):
        assert built[logical_id].runtime == props["Runtime"]
        assert [built[logical_id].architecture] == props["Architectures"]


@pytest.mark.parametrize("name", sorted(load_wiring(parameters={"Stage": "prod"}).functions))
def test_the_artifact_imports_its_handler_beside_only_the_runtimes_boto3(built, runtime, name):
    out, _ = built
    artifact = out / name
    for path in artifact.rglob("*"):  # as the deploy zip has them
        os.utime(path, (ZIP_EPOCH, ZIP_EPOCH), follow_symlinks=False)
    logical_id, handler, memory, env = next(f for f in function_environments() if f[0] == name)
    module, attr = handler.rsplit(".", 1)
    code = (f"import importlib, json; m = importlib.import_module({module!r}); "
            f"assert callable(getattr(m, {attr!r})); "
            "print(json.dumps({n: getattr(v, '__file__', None) for n, v in list(sys.modules.items())}))")
    environment = lambda_environment(logical_id, memory, env)
    environment["LAMBDA_TASK_ROOT"] = str(artifact)
    done = packaging.clean_interpreter(artifact, runtime, code, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    files = {n: f for n, f in json.loads(done.stdout.splitlines()[-1]).items() if f}
    stdlib = os.path.dirname(json.__file__).rsplit("/python3", 1)[0]
    outside = {n: f for n, f in files.items()
               if not f.startswith((str(artifact), str(runtime))) and "/lib/python3." not in f}
    assert outside == {}, f"imported from outside the artifact and the runtime: {outside} ({stdlib})"
    if name not in RESOLVER_FUNCTIONS:  # Powertools' HTTP resolvers (all of them) only where they answer
        assert not [n for n in files if n.startswith("aws_lambda_powertools.event_handler")], name
    # X-Ray patches botocore only (every outside call is one), not all it supports (sqlite3, httpx, ...)
    assert "sqlite3" not in files, name
    loaded = {n.split(".")[0] for n in files}
    assert not loaded & set(NOT_AT_COLD_START.get(name, ())), name
    for name_ in RUNTIME_DISTRIBUTIONS:
        if name_ in files:
            assert files[name_].startswith(str(runtime)), f"{name_} must come from the runtime, not the artifact"


def test_artifacts_carry_only_what_their_function_imports(built):
    out, reports = built
    for name, report in reports.items():
        artifact = out / name
        tops = {p.name for p in artifact.iterdir()}
        assert not tops & {"tests", "docs", "infra", "scripts", "config", "template.yaml", "pyproject.toml", ".venv"} - (
            {"config"} if (artifact / "leadflow" / "services" / "config.py").exists() else set())
        assert not (artifact / "graphql" / "schema.graphql").exists()  # graphql/ here is graphql-core
        assert not (artifact / "config" / "import").exists()  # CSV mappings of the CLI
        assert not tops & {"boto3", "botocore", "s3transfer", "dateutil", "urllib3"}, f"{name} ships the runtime's boto3"
        assert ("numpy" in tops) == (name in NUMPY_FUNCTIONS), name
        assert not list(artifact.rglob("tests")), f"{name} ships test suites"
        assert not list(artifact.rglob("*.pyi")), name
        if "phonenumbers" in tops:
            assert not (artifact / "phonenumbers" / "geodata").exists()
            assert not (artifact / "phonenumbers" / "carrierdata").exists()
        for info in artifact.glob("*.dist-info"):
            assert {p.name for p in info.iterdir()} <= {"METADATA", "RECORD", "entry_points.txt"}
    # the function that captures leads carries no GraphQL, no model, no mail templates
    capture = {p.name for p in (out / "CaptureFunction").iterdir()}
    assert not capture & {"strawberry", "graphql", "numpy", "jinja2", "rapidfuzz", "holidays"}


def _pyc_flags(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[4:8], "little")


def test_every_module_has_a_pyc_that_survives_the_zip_dates(built):
    out, _ = built
    tag = "cpython-" + packaging.runtime_function().python_version.replace(".", "")
    for name in ("CaptureFunction", "GraphqlFunction"):
        artifact = out / name
        ours = list((artifact / "leadflow").rglob("*.py")) + list((artifact / "functions").rglob("*.py"))
        assert ours
        for source in ours:  # our code: source (tracebacks) + unchecked-hash .pyc
            compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            assert compiled.is_file(), compiled
            assert _pyc_flags(compiled) == 0b01, f"{compiled} is not an unchecked-hash pyc"
        libraries = [p for p in artifact.rglob("*.pyc") if "__pycache__" not in p.parts]
        assert libraries, "libraries ship compiled modules"
        assert not [p for p in artifact.rglob("*.py") if p.parts[len(artifact.parts)] not in ("leadflow", "functions")]
        assert {_pyc_flags(p) for p in libraries} == {0b01}


def test_each_artifact_is_at_most_50_mb(built):
    out, _ = built
    sizes = {name: packaging.size(out / name) / MB for name in load_wiring(parameters={"Stage": "prod"}).functions}
    too_big = {n: round(s, 1) for n, s in sizes.items() if s > LIMIT_MB}
    assert too_big == {}


def _synthetic_rows(n: int) -> tuple[list[dict], list[int]]:
    from tests.unit.test_predictive import synthetic_leads

    return synthetic_leads(n, seed=11)


def test_the_train_functions_artifact_trains_a_model(built, runtime, tmp_path):
    """What training uses of numpy is in the artifact (numpy submodules are pruned from it): the
    daily training's own code path, fit with trees and validation, evaluation and encoding."""
    out, _ = built
    rows, labels = _synthetic_rows(900)
    data = tmp_path / "rows.json"
    data.write_text(json.dumps({"rows": rows, "labels": labels}))
    code = f"import json; d = json.load(open({str(data)!r})); " + (
            "from leadflow.services.predictive_training import encode_model; "
            "from leadflow.services.predictive import decode_model; "
            "from leadflow.domain.predictive import TrainOptions, fit_and_validate; "
            "o = fit_and_validate(d['rows'], d['labels'], list(range(len(d['labels']))), "
            "options=TrainOptions(exclude=frozenset({'lead_id'}), min_validation=50, blend_weights=(0.0, 0.5))); "
            "encoded, size = encode_model(o.model); "
            "p = decode_model({'encoding': 'gzip+base64', 'model': encoded}).predict(d['rows'][:3]); "
            "print(json.dumps({'auc': o.candidate_metrics['auc'], 'trees': o.model.metadata['trees'], "
            "'blend': o.model.blend, 'p': [x.probability for x in p], "
            "'numpy': sorted(m for m in sys.modules if m.startswith('numpy'))}))")
    done = packaging.clean_interpreter(out / "TrainFunction", runtime, code)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["auc"] > 0.6 and result["trees"] > 0 and result["blend"] < 1.0, result
    assert all(0 < p < 1 for p in result["p"])
    assert "numpy.linalg" in result["numpy"] and "numpy.random" not in result["numpy"]


def test_the_score_functions_artifact_applies_a_model_without_numpy(built, runtime, tmp_path):
    """The score function's artifact has no numpy, and predicts what numpy predicts."""
    from leadflow.domain.predictive import TrainOptions, train
    from leadflow.services.predictive_training import encode_model

    out, _ = built
    artifact = out / "ScoreFunction"
    assert not (artifact / "numpy").exists() and not (artifact / "numpy.libs").exists()
    rows, labels = _synthetic_rows(800)
    model = train(rows, labels, TrainOptions(exclude=frozenset({"lead_id"}), blend_weights=(0.5,)))
    assert model.trees is not None and model.blend == 0.5
    encoded, _ = encode_model(model)
    data = tmp_path / "model.json"
    data.write_text(json.dumps({"document": {"encoding": "gzip+base64", "model": encoded}, "rows": rows}))
    code = f"import json; d = json.load(open({str(data)!r})); " + (
            "from leadflow.services.scoring import handle_event; "  # the score function's path
            "from leadflow.services.predictive import decode_model; "
            "m = decode_model(d['document']); "
            "print(json.dumps({'p': [x.probability for x in m.predict(d['rows'])], "
            "'numpy': [n for n in sys.modules if n.startswith('numpy')]}))")
    done = packaging.clean_interpreter(artifact, runtime, code)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["numpy"] == []
    expected = model.predict_proba(rows)
    assert max(abs(a - b) for a, b in zip(result["p"], expected)) < 1e-9
    assert len(result["p"]) == len(rows) == 800
