"""One place talks to DynamoDB (issue 12, point 10): services and the API call repositories in
leadflow/store; the domain knows nothing of storage. Read from the source (AST), so a function-
local import or a call in a rarely run branch counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "leadflow"
CALLERS = ("services", "api")  # use cases and the GraphQL layer: repositories only
LAYERS = (*CALLERS, "domain")

# PynamoDB model operations that read or write a table or an index.
OPERATIONS = {"query", "scan", "get", "batch_get", "batch_write", "count", "exists", "create_table",
              "delete_table", "save", "update", "delete", "refresh", "transact_write", "transact_get"}

# Modules that still build new items (a lead, its history entry, a marker...) and hand them to a
# store function, so they import the model classes at run time. Importing is all they may do with
# them; every DynamoDB call is in store/ (checked below). Only for type hints: `if TYPE_CHECKING:`.
BUILDS_ITEMS = {
    "services/activities.py", "services/capture.py", "services/config.py", "services/customers.py",
    "services/lead_import.py",
    "services/lifecycle.py", "services/qualify.py", "services/routing.py", "services/scoring.py",
    "api/types.py",  # Strawberry reads its resolvers' annotations at run time
}


def _modules(*layers: str) -> list[Path]:
    return sorted(p for layer in layers for p in (ROOT / layer).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    return {id(node) for block in ast.walk(tree)
            if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for node in ast.walk(block)}


def _imports(tree: ast.Module, runtime_only: bool = False) -> list[str]:
    skip = _type_checking_only(tree) if runtime_only else set()
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _model_names(tree: ast.Module) -> set[str]:
    """Names a module binds to PynamoDB models (imported from leadflow.store.models)."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "leadflow.store.models" for alias in node.names}


def dynamodb_calls(source: str) -> list[str]:
    """Calls in `source` that run a PynamoDB operation: on a model class (`LeadModel.get(...)`),
    on one of its indexes (`LeadModel.by_stage.query(...)`), on a new item (`MarkerModel(...).save()`),
    on `type(item)` (`type(x).batch_write()`), or an update/put/delete with a condition or update
    actions (`item.update(actions=[...])`: only PynamoDB items take those)."""
    tree = ast.parse(source)
    models = _model_names(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        operation, receiver = node.func.attr, node.func.value
        if operation not in OPERATIONS:
            continue
        keywords = {k.arg for k in node.keywords}
        on_model = (isinstance(receiver, ast.Name) and receiver.id in models) or (
            isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name)
            and receiver.value.id in models)
        on_item = isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and (
            receiver.func.id in models or receiver.func.id == "type")
        conditional = operation in {"update", "save", "delete"} and bool(keywords & {"actions", "condition"})
        if on_model or on_item or conditional:
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}(...)")
    return found


@pytest.mark.parametrize("path", _modules(*LAYERS), ids=_name)
def test_no_service_api_or_domain_module_imports_pynamodb(path):
    bad = [name for name in _imports(ast.parse(path.read_text())) if name.split(".")[0] == "pynamodb"]
    assert not bad, f"{_name(path)} imports {bad}: PynamoDB belongs in leadflow/store"


@pytest.mark.parametrize("path", _modules("domain"), ids=_name)
def test_the_domain_imports_no_storage_and_no_aws(path):
    bad = [name for name in _imports(ast.parse(path.read_text()))
           if name.startswith("leadflow.store") or name.split(".")[0] in ("boto3", "botocore", "pynamodb")]
    assert not bad, f"{_name(path)} imports {bad}: the domain is pure"


@pytest.mark.parametrize("path", _modules(*CALLERS), ids=_name)
def test_services_and_api_run_no_dynamodb_operation_themselves(path):
    calls = dynamodb_calls(path.read_text())
    assert not calls, f"{_name(path)} talks to DynamoDB itself ({calls}): call a function in leadflow/store"


def test_only_modules_that_build_items_import_the_models_at_run_time():
    importers = {_name(path) for path in _modules(*CALLERS)
                 if "leadflow.store.models" in _imports(ast.parse(path.read_text()), runtime_only=True)}
    assert importers - BUILDS_ITEMS == set(), "import the models under `if TYPE_CHECKING:` or call the store"
    assert BUILDS_ITEMS - importers == set(), "no longer imports the models: take it off BUILDS_ITEMS"


@pytest.mark.parametrize("source", [
    "from leadflow.store.models import LeadModel\nLeadModel.by_stage.query('MQL')",
    "from leadflow.store.models import MarkerModel as M\nM.get('visitor#1', consistent_read=True)",
    "from leadflow.store.models import LeadModel\nLeadModel.batch_get(['a'])",
    "from leadflow.store.models import MarkerModel\nMarkerModel('x', lead_id='a').save()",
    "def f(items):\n    with type(items[0]).batch_write() as batch:\n        pass",
    "def f(item):\n    item.update(actions=[])",
    "def f(item, c):\n    item.save(condition=c)",
])
def test_the_scan_recognises_each_kind_of_dynamodb_call(source):
    """The scan above can fail: each shape of call that services made before they moved to store/."""
    assert dynamodb_calls(source)


def test_the_scan_leaves_plain_python_alone():
    source = ("def f(d, s, lead):\n    d.update(a=1)\n    s.get('k')\n    lead.stage.split('#')\n"
              "    repo.get_lead('x')\n    store.save_ledger('x', [], None)\n")
    assert dynamodb_calls(source) == []
