"""Create what template.yaml declares on an AWS emulator (moto) and resolve the
functions' environment variables to the physical names that were created.

Used by the local stack (moto server) and by the integration tests (in-process
`mock_aws`), so both run on exactly the tables, indexes, queues, dead-letter
queues, bus and SES identity that would be deployed.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.template import Wiring

# Resource types the local stack needs. Everything else (IAM roles, Lambda
# functions, permissions, the API itself, Cognito, alarms) is emulated in
# process or has no local meaning.
_PROVISIONED = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::SES::EmailIdentity",
    "AWS::SES::ConfigurationSet",
    "AWS::SNS::Topic",
)


@dataclass
class Physical:
    """What a logical id resolves to."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    wiring: Wiring
    name: str
    region: str
    parameters: dict[str, str]
    physical: dict[str, Physical] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Resolve Ref / Fn::GetAtt / Fn::Sub / Fn::Join against what was created."""
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical, attr = target if isinstance(target, list) else target.split(".", 1)
            return self.physical[logical].attributes[attr]
        if "Fn::Sub" in value:
            return self._sub(value["Fn::Sub"])
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        if "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(condition) else when_false)
        raise ValueError(f"cannot resolve {value!r} locally")

    def condition(self, name: str) -> bool:
        return self._truth(self.wiring.template.get("Conditions", {})[name])

    def _truth(self, expr: Any) -> bool:
        if isinstance(expr, dict) and "Fn::Not" in expr:
            return not self._truth(expr["Fn::Not"][0])
        if isinstance(expr, dict) and "Fn::Equals" in expr:
            left, right = expr["Fn::Equals"]
            return str(self.resolve(left)) == str(self.resolve(right))
        if isinstance(expr, dict) and "Condition" in expr:
            return self.condition(expr["Condition"])
        if isinstance(expr, dict) and "Fn::And" in expr:
            return all(self._truth(e) for e in expr["Fn::And"])
        if isinstance(expr, dict) and "Fn::Or" in expr:
            return any(self._truth(e) for e in expr["Fn::Or"])
        raise ValueError(f"cannot evaluate condition {expr!r} locally")

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": "123456789012",
                  "AWS::Partition": "aws", "AWS::StackName": self.name}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        params = self.wiring.template.get("Parameters", {})
        if name in params and "Default" in params[name]:
            return str(params[name]["Default"])
        raise KeyError(f"Ref {name} is not provisioned locally")

    def _sub(self, spec: Any) -> str:
        text, variables = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])
        def repl(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in variables:
                return str(self.resolve(variables[key]))
            if "." in key:
                logical, attr = key.split(".", 1)
                return self.physical[logical].attributes[attr]
            return str(self._ref(key))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)

    def environment(self) -> dict[str, str]:
        """Environment of all functions, merged (the local stack runs them in one process)."""
        env: dict[str, str] = {}
        for spec in self.wiring.functions.values():
            for key, value in spec.environment.items():
                env[key] = str(self.resolve(value))
        return env

    def queue_url(self, logical_id: str) -> str:
        return self.physical[logical_id].ref

    def queue_arn(self, logical_id: str) -> str:
        return self.physical[logical_id].attributes["Arn"]


def provision(wiring: Wiring, *, name: str = "leadflow", region: str = "eu-central-1",
              parameters: dict[str, str] | None = None, endpoint_url: str | None = None,
              keys_seed: str | None = None) -> Stack:
    """keys_seed: also do the operator's one step before the first deploy, storing the keys
    SecureString the template's KeysParameterName names (derived from the seed)."""
    stack = Stack(wiring=wiring, name=name, region=region,
                  parameters={**wiring.parameters, **(parameters or {})})
    clients = _Clients(region, endpoint_url)
    if keys_seed and "KeysParameterName" in wiring.template.get("Parameters", {}):
        from leadflow.adapters.keys import derive

        clients.ssm.put_parameter(Name="/" + stack.resolve({"Ref": "KeysParameterName"}).lstrip("/"),
                                  Type="SecureString", Value=json.dumps(derive(keys_seed)), Overwrite=True)
    # Queues first in dependency order: a queue's redrive policy names its DLQ.
    pending = {k: v for k, v in wiring.resources.items() if v["Type"] in _PROVISIONED}
    while pending:
        progressed = False
        for logical_id, res in list(pending.items()):
            try:
                stack.physical[logical_id] = _create(stack, clients, logical_id, res)
            except KeyError:
                continue  # depends on something not created yet
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot provision {sorted(pending)}: unresolved references")
    return stack


class _Clients:
    def __init__(self, region: str, endpoint_url: str | None):
        self._kw = {"region_name": region}
        if endpoint_url:
            self._kw["endpoint_url"] = endpoint_url
        self._cache: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = boto3.client(service, **self._kw)
        return self._cache[service]


def _create(stack: Stack, clients: _Clients, logical_id: str, res: dict[str, Any]) -> Physical:
    props = res.get("Properties", {})
    kind = res["Type"]
    if kind == "AWS::DynamoDB::Table":
        return _create_table(stack, clients, logical_id, props)
    if kind == "AWS::SQS::Queue":
        return _create_queue(stack, clients, logical_id, props)
    if kind == "AWS::Events::EventBus":
        bus_name = stack.resolve(props["Name"])
        arn = clients.events.create_event_bus(Name=bus_name)["EventBusArn"]
        return Physical(ref=bus_name, attributes={"Arn": arn, "Name": bus_name})
    if kind == "AWS::SES::EmailIdentity":
        identity = stack.resolve(props["EmailIdentity"])
        if "@" in identity:
            clients.ses.verify_email_identity(EmailAddress=identity)
        else:
            clients.ses.verify_domain_identity(Domain=identity)
        return Physical(ref=identity)
    if kind == "AWS::SES::ConfigurationSet":
        name = stack.resolve(props["Name"])
        # moto's SES keeps configuration sets across an in-process reset: the same set is fine
        with contextlib.suppress(clients.ses.exceptions.ConfigurationSetAlreadyExistsException):
            clients.ses.create_configuration_set(ConfigurationSet={"Name": name})
        return Physical(ref=name)
    if kind == "AWS::SNS::Topic":
        arn = clients.sns.create_topic(Name=f"{stack.name}-{logical_id}")["TopicArn"]
        return Physical(ref=arn, attributes={"TopicName": f"{stack.name}-{logical_id}"})
    raise ValueError(kind)


def _create_table(stack: Stack, clients: _Clients, logical_id: str, props: dict[str, Any]) -> Physical:
    name = f"{stack.name}-{logical_id}"
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    description = clients.dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        clients.dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    attributes = {"Arn": description["TableArn"]}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = description["LatestStreamArn"]
    return Physical(ref=name, attributes=attributes)


def _create_queue(stack: Stack, clients: _Clients, logical_id: str, props: dict[str, Any]) -> Physical:
    name = f"{stack.name}-{logical_id}"
    attributes: dict[str, str] = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        policy = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": stack.resolve(policy["deadLetterTargetArn"]),
            "maxReceiveCount": int(policy["maxReceiveCount"]),
        })
    url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Physical(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})
