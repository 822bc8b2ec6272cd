"""IAM probe: record every AWS call a Lambda handler makes and check it against the
policies that template.yaml gives that function.

moto checks no IAM policy, so a missing permission only shows on AWS, after a commit.
The probe closes that gap: `install()` wraps each handler named in the template (so a
call knows which function made it) and patches botocore's one API-call method (so boto3
and PynamoDB calls are both seen). Each distinct (function, action, resource) is appended
to a JSONL file in the directory named by LEADFLOW_AWS_CALL_LOG. `check()` later reads
those files and evaluates them against the role policies of the *transformed* template.

Resources are recorded by logical id (the physical names come from the function's
environment variables, which the template sets with !Ref), so the check does not depend on
how the local stack or moto named things.
"""

from __future__ import annotations

import contextvars
import fnmatch
import functools
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import re
import sys
import threading
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from infra.template import Wiring

LOG_DIR_ENV = "LEADFLOW_AWS_CALL_LOG"
REGION = "eu-central-1"  # placeholders: both sides of the check use the same ones
ACCOUNT = "123456789012"

_current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_probe_function", default=None)
_installed = False
_lock = threading.Lock()
_seen: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Call:
    function: str  # logical id
    action: str  # e.g. dynamodb:PutItem
    resource: str  # ARN with logical ids, or "*"


# ------------------------------------------------------------------ recording
def install(wiring: Wiring) -> None:
    """Wrap the template's handlers and start recording (once per process)."""
    global _installed
    if _installed or not os.environ.get(LOG_DIR_ENV):
        return
    _installed = True
    refs = _environment_refs(wiring)
    named = _template_names(wiring)
    handlers: dict[str, list[tuple[str, str]]] = {}
    for logical_id, spec in wiring.functions.items():
        module_name, _, attr = spec.handler.rpartition(".")
        handlers.setdefault(module_name, []).append((attr, logical_id))
    for module_name, wanted in handlers.items():
        if module_name in sys.modules:
            _wrap(sys.modules[module_name], wanted)
    # Handler modules read their settings at import: wrap them when the code under test imports them.
    sys.meta_path.insert(0, _WrapOnImport(handlers))

    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    @functools.wraps(original)
    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = _current_function.get()
        if function is not None:
            service = client.meta.service_model.service_name
            canon = _canonicaliser(refs, named)
            for action, resource in requests_of(service, operation, params, canon):
                _record(Call(function, action, resource))
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = recording


class _WrapOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, handlers: dict[str, list[tuple[str, str]]]):
        self._handlers = handlers

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self._handlers:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        execute = spec.loader.exec_module
        wanted = self._handlers[name]

        def exec_module(module: Any) -> None:
            execute(module)
            _wrap(module, wanted)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _wrap(module: Any, wanted: list[tuple[str, str]]) -> None:
    for attr, logical_id in wanted:
        handler = getattr(module, attr, None)
        if callable(handler) and not getattr(handler, "_iam_probe", False):
            setattr(module, attr, _attributed(logical_id, handler))


def _attributed(logical_id: str, handler: Any) -> Any:
    @functools.wraps(handler)
    def attributed(event: Any, context: Any) -> Any:
        token = _current_function.set(logical_id)
        try:
            return handler(event, context)
        finally:
            _current_function.reset(token)

    attributed._iam_probe = True  # type: ignore[attr-defined]
    return attributed


def _record(call: Call) -> None:
    key = (call.function, call.action, call.resource)
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
        directory = Path(os.environ[LOG_DIR_ENV])
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / f"{os.getpid()}.jsonl", "a") as out:
            out.write(json.dumps(call.__dict__) + "\n")


def _environment_refs(wiring: Wiring) -> dict[str, str]:
    """Environment variable -> the logical id (resource or parameter) the template !Refs."""
    refs: dict[str, str] = {}
    for spec in wiring.functions.values():
        for name, value in spec.environment.items():
            if isinstance(value, dict) and isinstance(value.get("Ref"), str):
                refs[name] = value["Ref"]
    return refs


def _template_names(wiring: Wiring) -> dict[str, str]:
    """Names the template gives resources itself (e.g. the bus `leadflow-${Stage}`) -> logical id."""
    stage = wiring.parameters.get("Stage") or wiring.template.get("Parameters", {}).get("Stage", {}).get("Default", "")
    names = {}
    for logical_id, resource in wiring.resources.items():
        name = resource.get("Properties", {}).get("Name")
        if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
            names[name["Fn::Sub"].replace("${Stage}", stage)] = logical_id
    return names


def _canonicaliser(refs: dict[str, str], named: dict[str, str]) -> Any:
    """Physical name -> logical id: from the function's environment (the template's !Refs),
    else by the local stack's naming (`<stack>-<LogicalId>`), else by the template's own names."""
    physical = {os.environ[var]: logical for var, logical in refs.items() if os.environ.get(var)}
    logical_ids = set(refs.values())

    def canon(value: str) -> str:
        if value in physical:
            return physical[value]
        suffix = value.rstrip("/").rsplit("/", 1)[-1].rsplit("-", 1)[-1]
        if suffix in logical_ids:
            return suffix
        return named.get(value, value)

    return canon


# ------------------------------------------------------------------ what IAM evaluates
_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def requests_of(service: str, operation: str, params: dict[str, Any], canon: Any) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one API call needs."""
    prefix = {"sesv2": "ses"}.get(service, service)

    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{canon(name)}"
        return f"{arn}/index/{index}" if index else arn

    if service == "dynamodb":
        if operation == "TransactWriteItems":
            return [(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(spec["TableName"]))
                    for item in params.get("TransactItems", []) for kind, spec in item.items()]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params.get("TransactItems", [])]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
        if "TableName" in params:
            return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))]
    if service == "sqs":
        url = params.get("QueueUrl")
        queue = canon(url) if url else params.get("QueueName", "*")
        if queue == url:  # not one of the template's queues: judge it by its name
            queue = url.rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{_SQS_BATCH.get(operation, operation)}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries", [])}
        return [("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{canon(_last(bus))}")
                for bus in sorted(buses)]
    if prefix == "ses" and operation in ("SendRawEmail", "SendEmail"):
        sender = params.get("Source") or params.get("FromEmailAddress") or ""
        address = parseaddr(sender)[1] or sender
        needs = [(f"ses:{operation}", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{canon(address)}")]
        if params.get("ConfigurationSetName"):
            needs.append((f"ses:{operation}",
                          f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{canon(params['ConfigurationSetName'])}"))
        return needs
    if service == "ssm" and "Name" in params:
        return [(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{canon(params['Name'].lstrip('/'))}")]
    return [(f"{prefix}:{operation}", "*")]


def _last(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


# ------------------------------------------------------------------ the check
@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def allows(self, action: str, resource: str) -> bool:
        return (any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions)
                and any(fnmatch.fnmatchcase(resource, r) for r in self.resources))


def grants(wiring: Wiring) -> dict[str, list[Grant]]:
    """Function logical id -> the Allow statements of its role (inline policies)."""
    resources = wiring.resources
    result: dict[str, list[Grant]] = {}
    for logical_id in wiring.functions:
        role = resources[logical_id]["Properties"].get("Role")
        role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
        statements = []
        for policy in resources.get(role_id, {}).get("Properties", {}).get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"].get("Statement")):
                if statement.get("Effect") != "Allow":
                    continue
                statements.append(Grant(
                    actions=tuple(_as_list(statement.get("Action"))),
                    resources=tuple(_resolve(r, wiring) for r in _as_list(statement.get("Resource")))))
        result[logical_id] = statements
    return result


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def _resolve(value: Any, wiring: Wiring, variables: dict[str, str] | None = None) -> str:
    """A policy resource with logical ids for names (the same form the recorder writes)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return _PSEUDO.get(value["Ref"], value["Ref"])
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        logical, attr = target if isinstance(target, list) else target.split(".", 1)
        return _attribute(logical, attr, wiring)
    if "Fn::Sub" in value:
        spec = value["Fn::Sub"]
        text, local = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])
        resolved = {k: _resolve(v, wiring) for k, v in local.items()}

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return resolved[name]
            if "." in name:
                logical, attr = name.split(".", 1)
                return _attribute(logical, attr, wiring)
            return _PSEUDO.get(name, name)

        return re.sub(r"\$\{([^}!]+)\}", repl, text)
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, wiring) for p in parts)
    raise ValueError(f"cannot resolve policy resource {value!r}")


def _attribute(logical: str, attr: str, wiring: Wiring) -> str:
    kind = wiring.resources.get(logical, {}).get("Type", "")
    arns = {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical}",
        "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{logical}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical}",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{logical}",
    }
    if attr == "Arn" and kind in arns:
        return arns[kind]
    return logical  # QueueName, Name, ...: the recorder canonicalises physical names to logical ids


def read_calls(directory: Path) -> set[Call]:
    calls: set[Call] = set()
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                calls.add(Call(**json.loads(line)))
    return calls


@dataclass
class Report:
    denied: list[Call]
    unused: dict[str, list[str]]  # function -> "action on resource" granted but never called
    calls: int

    def text(self) -> str:
        lines = [f"IAM probe: {self.calls} distinct calls checked, {len(self.denied)} not permitted"]
        lines += [f"  NOT PERMITTED  {c.function}: {c.action} on {c.resource}" for c in self.denied]
        for function, unused in sorted(self.unused.items()):
            if unused:
                lines.append(f"  unused grants of {function}: {', '.join(unused)}")
        return "\n".join(lines)


def check(calls: set[Call], wiring: Wiring) -> Report:
    by_function = grants(wiring)
    def permitted(call: Call) -> bool:
        return any(g.allows(call.action, call.resource) for g in by_function.get(call.function, []))

    denied = sorted((c for c in calls if not permitted(c)), key=lambda c: (c.function, c.action, c.resource))
    unused: dict[str, list[str]] = {}
    for function, function_grants in by_function.items():
        made = [c for c in calls if c.function == function]
        for grant in function_grants:
            for resource in grant.resources:
                one = Grant(grant.actions, (resource,))
                if not any(one.allows(c.action, c.resource) for c in made):
                    unused.setdefault(function, []).append(_short(resource))
    return Report(denied=denied, unused=unused, calls=len(calls))


def _short(resource: str) -> str:
    return resource.split(":", 5)[-1] if resource.startswith("arn:") else resource
