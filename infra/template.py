"""Read template.yaml: the one truth for what exists and what is wired to what.

The SAM source is transformed offline by aws-sam-translator into plain
CloudFormation, and this module reads the *transformed* template, so the local
stack sees the same routes, event source mappings and schedules that AWS would.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
PLACEHOLDER_CODE_URI = "s3://leadflow-local-placeholder/code.zip"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str  # "functions.capture.handler"
    timeout: int
    environment: dict[str, Any]  # unresolved CloudFormation values


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, OPTIONS
    path: str  # OpenAPI path, e.g. /t/c/{token}
    function: str  # logical id of the function
    authorizer: str | None  # name of the JWT authorizer, None for public routes


@dataclass(frozen=True)
class QueueSubscription:
    queue: str  # logical id of the queue
    function: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class StreamSubscription:
    """A DynamoDB stream event source mapping, as Lambda runs it."""
    table: str  # logical id of the table whose stream it reads
    function: str
    batch_size: int
    report_batch_item_failures: bool
    filters: tuple[dict[str, Any], ...]  # FilterCriteria patterns (a record passes if any matches)
    maximum_retry_attempts: int  # -1: until the record expires
    bisect_on_error: bool
    on_failure: str | None  # logical id of the on-failure destination queue


@dataclass(frozen=True)
class Schedule:
    name: str  # logical id of the rule
    function: str
    expression: str  # rate(...) or cron(...)


@dataclass
class Wiring:
    template: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    subscriptions: list[QueueSubscription] = field(default_factory=list)
    streams: list[StreamSubscription] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def resources_of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}


def transform_template(
    path: Path = TEMPLATE_PATH, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """SAM -> CloudFormation, offline (no AWS account, no network)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(path.read_text())
    # Local CodeUri paths would need packaging; the translator only needs a valid S3 URI.
    sam.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = PLACEHOLDER_CODE_URI
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("CodeUri", None)

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    return transform(sam, parameters or {}, _NoManagedPolicies())


@lru_cache(maxsize=4)
def _cached_transform(path: str, params: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return transform_template(Path(path), dict(params))


def load_wiring(path: Path = TEMPLATE_PATH, parameters: dict[str, str] | None = None) -> Wiring:
    template = copy.deepcopy(_cached_transform(str(path), tuple(sorted((parameters or {}).items()))))
    wiring = Wiring(template=template, parameters=dict(parameters or {}))
    resources = template["Resources"]
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Lambda::Function":
            continue
        props = res["Properties"]
        env = dict(props.get("Environment", {}).get("Variables", {}))
        wiring.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=props["Handler"],
            timeout=int(props.get("Timeout", 3)),
            environment=env,
        )
    for logical_id, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Lambda::EventSourceMapping" and _is_stream(props["EventSourceArn"]):
            wiring.streams.append(_stream_subscription(props))
        elif res["Type"] == "AWS::Lambda::EventSourceMapping":
            wiring.subscriptions.append(
                QueueSubscription(
                    queue=_getatt_target(props["EventSourceArn"]),
                    function=_ref_target(props["FunctionName"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
        elif res["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in props:
            for target in props.get("Targets", []):
                wiring.schedules.append(
                    Schedule(
                        name=logical_id,
                        function=_getatt_target(target["Arn"]),
                        expression=props["ScheduleExpression"],
                    )
                )
        elif res["Type"] == "AWS::ApiGatewayV2::Api":
            wiring.routes.extend(_routes_from_openapi(props["Body"]))
    return wiring


def _is_stream(arn: Any) -> bool:
    target = arn.get("Fn::GetAtt") if isinstance(arn, dict) else None
    attribute = (target[1] if isinstance(target, list) else str(target).split(".", 1)[-1]) if target else ""
    return attribute == "StreamArn"


def _stream_subscription(props: dict[str, Any]) -> StreamSubscription:
    import json

    patterns = tuple(json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", []))
    destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamSubscription(
        table=_getatt_target(props["EventSourceArn"]),
        function=_ref_target(props["FunctionName"]),
        batch_size=int(props.get("BatchSize", 100)),
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        filters=patterns,
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        on_failure=_getatt_target(destination) if destination else None,
    )


def _routes_from_openapi(body: dict[str, Any]) -> list[Route]:
    routes = []
    for path, methods in body.get("paths", {}).items():
        for method, op in methods.items():
            integration = op.get("x-amazon-apigateway-integration", {})
            uri = integration.get("uri", {}).get("Fn::Sub", "")
            function = uri.split("/functions/${", 1)[1].split(".Arn}", 1)[0] if "/functions/${" in uri else ""
            security = op.get("security", [])
            authorizer = next(iter(security[0]), None) if security else None
            if authorizer == "NONE":
                authorizer = None
            routes.append(Route(method.upper(), path, function, authorizer))
    return routes


def _ref_target(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    raise ValueError(f"expected a Ref, got {value!r}")


def _getatt_target(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".")[0]
    raise ValueError(f"expected Fn::GetAtt, got {value!r}")
