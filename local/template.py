"""Reads a SAM / CloudFormation template and resolves it the way CloudFormation would for one stage.

Only what the local runtime needs is modelled: parameters and pseudo-parameters, conditions,
mappings, the intrinsic functions, SAM's Globals, and the physical names and attributes of the
resources it creates (tables, queues, buckets, functions...). Names come from the template's own
name properties (TableName, QueueName, BucketName...); a resource without one gets
``<stack name>-<logical id>``, a stable stand-in for CloudFormation's generated names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_STAGE = "local"
DEFAULT_STACK_NAME = "local"

# The property holding each resource type's physical name, when the template may set it.
_NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Serverless::Api": "Name",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template uses something the local runtime cannot resolve."""


class _NoValue:
    """AWS::NoValue: the property or list item it stands for disappears."""


NO_VALUE = _NoValue()


# ------------------------------------------------------------------------------------------
# Parameter overrides, written as for `sam deploy --parameter-overrides`.
# ------------------------------------------------------------------------------------------
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9]+")
_LONG_FORM = re.compile(r"ParameterKey=([A-Za-z0-9]+),ParameterValue=(.*)", re.DOTALL)


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """``Key=Value`` pairs separated by spaces, as ``sam deploy --parameter-overrides`` takes them:
    a value may be quoted with single or double quotes (``OidcProviders='{"x": {...}}'``), and the
    long form ``ParameterKey=Key,ParameterValue=Value`` is understood too."""
    import shlex

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise TemplateError(f"parameter overrides cannot be read ({exc}): {text!r}") from exc
    overrides: dict[str, str] = {}
    for word in words:
        long_form = _LONG_FORM.fullmatch(word)
        name, separator, value = (long_form.group(1), "=", long_form.group(2)) if long_form else word.partition("=")
        if not separator or not _PARAMETER_NAME.fullmatch(name):
            raise TemplateError(f"parameter overrides are Key=Value pairs separated by spaces, not {word!r}")
        if name in overrides:
            raise TemplateError(f"parameter {name} is given twice")
        overrides[name] = value
    return overrides


# ------------------------------------------------------------------------------------------
# Loading: CloudFormation's short-form tags (!Ref, !Sub...) become their long form.
# ------------------------------------------------------------------------------------------
class _TemplateLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form intrinsic tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def load_document(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document


# ------------------------------------------------------------------------------------------
# The resolved template.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    raw_properties: dict[str, Any] = field(repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)


class Template:
    """A template resolved for one parameter set.

    ``endpoint_url`` is where queue URLs point (the emulator); without it they take the AWS form.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        path: Path,
        parameters: Mapping[str, str] | None = None,
        stack_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.path = path
        self.directory = path.parent
        self._document = document
        self._raw_resources: dict[str, dict[str, Any]] = dict(document.get("Resources") or {})
        self._globals: dict[str, Any] = dict(document.get("Globals") or {})
        self._mappings: dict[str, Any] = dict(document.get("Mappings") or {})
        self._condition_definitions: dict[str, Any] = dict(document.get("Conditions") or {})
        self._condition_values: dict[str, bool] = {}
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.parameters = self._parameter_values(dict(parameters or {}))
        self.stage = str(self.parameters.get("Stage", DEFAULT_STAGE))
        self.stack_name = stack_name or DEFAULT_STACK_NAME
        self._pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self._resolving: set[str] = set()
        self._resolved: dict[str, Resource] = {}

    @classmethod
    def load(
        cls,
        path: str | Path,
        parameters: Mapping[str, str] | None = None,
        stack_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> Template:
        path = Path(path).resolve()
        document = load_document(path)
        known = dict(document.get("Parameters") or {})
        unknown = sorted(set(parameters or {}) - set(known))
        if unknown:
            raise TemplateError(
                f"{path.name} has no parameter {', '.join(unknown)}; its parameters are: {', '.join(known) or 'none'}"
            )
        merged = {"Stage": DEFAULT_STAGE, **(parameters or {})}
        return cls(document, path, merged, stack_name, endpoint_url)

    # -- resources ---------------------------------------------------------------------------
    def logical_ids(self, resource_type: str | None = None) -> list[str]:
        """Logical ids in template order, without resources whose Condition is false."""
        return [
            logical_id
            for logical_id, raw in self._raw_resources.items()
            if (resource_type is None or raw.get("Type") == resource_type) and self._is_included(raw)
        ]

    def resources(self, resource_type: str | None = None) -> list[Resource]:
        return [self.resource(logical_id) for logical_id in self.logical_ids(resource_type)]

    def resource(self, logical_id: str) -> Resource:
        if logical_id in self._resolved:
            return self._resolved[logical_id]
        raw = self._raw_resource(logical_id)
        raw_properties = self._with_globals(raw)
        if logical_id in self._resolving:
            raise TemplateError(f"{logical_id} refers to itself")
        self._resolving.add(logical_id)
        try:
            properties = self.resolve(raw_properties)
        finally:
            self._resolving.discard(logical_id)
        resource = Resource(logical_id, raw["Type"], properties, raw_properties, dict(raw.get("Metadata") or {}))
        self._resolved[logical_id] = resource
        return resource

    def dependencies(self, logical_id: str) -> set[str]:
        """Resources this one refers to (Ref, GetAtt, Sub) or names in DependsOn."""
        raw = self._raw_resource(logical_id)
        depends_on = raw.get("DependsOn") or []
        found = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        found |= _references(raw.get("Properties") or {})
        return {name for name in found if name in self._raw_resources and name != logical_id}

    def in_dependency_order(self, logical_ids: Iterable[str]) -> list[str]:
        """The given resources ordered so that each comes after those it refers to."""
        pending = list(logical_ids)
        wanted = set(pending)
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(logical_id: str) -> None:
            if logical_id in ordered:
                return
            if logical_id in visiting:
                raise TemplateError(f"circular dependency through {logical_id}")
            visiting.add(logical_id)
            for dependency in sorted(self.dependencies(logical_id) & wanted):
                visit(dependency)
            visiting.discard(logical_id)
            ordered.append(logical_id)

        for logical_id in pending:
            visit(logical_id)
        return ordered

    def physical_name(self, logical_id: str) -> str:
        raw = self._raw_resource(logical_id)
        name_property = _NAME_PROPERTIES.get(raw["Type"])
        if name_property is not None:
            name = self.resolve((raw.get("Properties") or {}).get(name_property))
            if isinstance(name, str) and name:
                return name
        name = f"{self.stack_name}-{logical_id}"
        if raw["Type"] == "AWS::SQS::Queue" and _is_true(self.resolve((raw.get("Properties") or {}).get("FifoQueue"))):
            name += ".fifo"
        return name

    # -- intrinsic functions -----------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Resolves every intrinsic function in a value."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        raw = self._raw_resources.get(name)
        if raw is None:
            raise TemplateError(f"Ref to unknown name {name!r}")
        resource_type = raw["Type"]
        physical = self.physical_name(name)
        if resource_type == "AWS::SQS::Queue":
            return self._queue_url(physical)
        if resource_type == "AWS::SNS::Topic":
            return self._arn("sns", physical)
        if resource_type == "AWS::Serverless::LayerVersion":
            return self._arn("lambda", f"layer:{physical}:1")
        if resource_type in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway::RestApi"):
            return _short_id(name)
        return physical

    def get_att(self, logical_id: str, attribute: str) -> Any:
        raw = self._raw_resources.get(logical_id)
        if raw is None:
            raise TemplateError(f"GetAtt of unknown resource {logical_id!r}")
        resource_type = raw["Type"]
        name = self.physical_name(logical_id)
        if resource_type == "AWS::SQS::Queue":
            return {"Arn": self._arn("sqs", name), "QueueName": name, "QueueUrl": self._queue_url(name)}.get(
                attribute, self._unknown_attribute(logical_id, attribute)
            )
        if resource_type in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            table_arn = self._arn("dynamodb", f"table/{name}")
            return {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/1970-01-01T00:00:00.000"}.get(
                attribute, self._unknown_attribute(logical_id, attribute)
            )
        if resource_type == "AWS::S3::Bucket":
            return {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{REGION}.amazonaws.com",
            }.get(attribute, self._unknown_attribute(logical_id, attribute))
        if resource_type == "AWS::SNS::Topic":
            return {"TopicArn": self._arn("sns", name), "TopicName": name}.get(
                attribute, self._unknown_attribute(logical_id, attribute)
            )
        if resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function") and attribute == "Arn":
            return self._arn("lambda", f"function:{name}")
        if resource_type == "AWS::Serverless::Api" and attribute == "RootResourceId":
            return _short_id(f"{logical_id}-root")
        if resource_type == "AWS::Logs::LogGroup" and attribute == "Arn":
            return self._arn("logs", f"log-group:{name}:*")
        if attribute == "Arn":
            service = resource_type.split("::")[1].lower()
            return self._arn(service, name)
        return self._unknown_attribute(logical_id, attribute)

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self._condition_definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._condition_values[name] = bool(self.resolve(self._condition_definitions[name]))
        return self._condition_values[name]

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.get_att(logical_id, self.resolve(attribute))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition_name, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition_name) else if_false)
        arguments = self.resolve(argument)
        if name == "Join":
            delimiter, items = arguments
            return str(delimiter).join(str(item) for item in items)
        if name == "Select":
            index, items = arguments
            return items[int(index)]
        if name == "Split":
            delimiter, text = arguments
            return str(text).split(delimiter)
        if name == "Equals":
            left, right = arguments
            return str(left) == str(right)
        if name == "Not":
            return not arguments[0]
        if name == "And":
            return all(arguments)
        if name == "Or":
            return any(arguments)
        if name == "FindInMap":
            map_name, top_key, second_key = arguments[:3]
            return self._mappings[map_name][top_key][second_key]
        if name == "Base64":
            return base64.b64encode(str(arguments).encode()).decode()
        if name == "GetAZs":
            return [f"{REGION}{zone}" for zone in "abc"]
        if name == "ToJsonString":
            return json.dumps(arguments, separators=(",", ":"))
        if name == "Length":
            return len(arguments)
        if name == "ImportValue":
            logger.warning("template imports %s, which has no local value", arguments)
            return f"imported-{arguments}"
        raise TemplateError(f"Fn::{name} is not supported by the local runtime")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression and expression.split(".", 1)[0] in self._raw_resources:
                logical_id, attribute = expression.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(expression))

        return _SUB_VARIABLE.sub(substitute, str(text))

    # -- helpers -----------------------------------------------------------------------------
    def _parameter_values(self, overrides: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, definition in (self._document.get("Parameters") or {}).items():
            value = overrides.get(name, definition.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no value and no default")
            allowed = definition.get("AllowedValues")
            if name in overrides and allowed and str(value) not in {str(choice) for choice in allowed}:
                raise TemplateError(f"parameter {name} is {value!r}; allowed: {', '.join(map(str, allowed))}")
            if definition.get("Type") == "CommaDelimitedList" or str(definition.get("Type", "")).startswith("List<"):
                value = value if isinstance(value, list) else [item.strip() for item in str(value).split(",")]
            values[name] = value
        return values

    def _raw_resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self._raw_resources[logical_id]
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in {self.path}") from None

    def _is_included(self, raw: Mapping[str, Any]) -> bool:
        condition = raw.get("Condition")
        return condition is None or self.condition(condition)

    def _with_globals(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        properties = dict(raw.get("Properties") or {})
        section = {
            "AWS::Serverless::Function": "Function",
            "AWS::Serverless::Api": "Api",
            "AWS::Serverless::HttpApi": "HttpApi",
            "AWS::Serverless::SimpleTable": "SimpleTable",
        }.get(raw["Type"])
        if section and section in self._globals:
            return _merge_globals(self._globals[section], properties)
        return properties

    def _queue_url(self, name: str) -> str:
        base = self._endpoint_url or f"https://sqs.{REGION}.amazonaws.com"
        return f"{base}/{ACCOUNT_ID}/{name}"

    @staticmethod
    def _arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"

    @staticmethod
    def _unknown_attribute(logical_id: str, attribute: str) -> str:
        return f"{logical_id}.{attribute}"


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rules: maps merge, lists are additive, and a resource's own scalar wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {name.split(".", 1)[0] for name in _SUB_VARIABLE.findall(str(text))}
                found |= _references(item[1] if isinstance(item, list) else {})
            else:
                found |= _references(item)
    return found


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _short_id(seed: str) -> str:
    """A stable, API-Gateway-looking id (ten lowercase characters) for a logical id."""
    return hashlib.sha256(seed.encode()).hexdigest()[:10]
