"""Read template.yaml (the single source of truth) into what the local stack creates and runs.

Only what the local stack needs is resolved: tables, queues, functions (handler, code folder,
environment after Globals) and their event sources. Intrinsics resolve against local names; anything
the local stack does not emulate resolves to a clearly local placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class EventSource:
    name: str
    type: str  # SQS | DynamoDB | Schedule | Api
    properties: dict[str, Any]


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str  # module.function
    environment: dict[str, str]
    timeout: int
    events: list[EventSource] = field(default_factory=list)
    # environment variables whose value is a plain !Ref to a template parameter: variable -> parameter
    parameter_refs: dict[str, str] = field(default_factory=dict)


class LocalTemplate:
    """The template, resolved against a ``names`` map (logical id -> local name / url / arn)."""

    def __init__(self, raw: dict[str, Any] | None = None) -> None:
        self.raw = raw if raw is not None else load_template()
        self.resources: dict[str, Any] = self.raw["Resources"]
        self.parameter_specs: dict[str, dict[str, Any]] = self.raw.get("Parameters") or {}
        self.parameters = {k: str(v.get("Default", "")) for k, v in self.parameter_specs.items()}
        self.refs: dict[str, str] = {}  # logical id -> what !Ref gives locally
        self.attrs: dict[tuple[str, str], str] = {}  # (logical id, attribute) -> value
        self.pseudo = {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::StackName": "local",
        }

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_name}

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self.attrs.get((arg[0], arg[1]), f"local-{arg[0]}-{arg[1]}")
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.refs.get(name, f"local-{name}")

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out, i = [], 0
        while i < len(text):
            j = text.find("${", i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            k = text.index("}", j)
            name = text[j + 2 : k]
            if name in extra:
                out.append(str(self.resolve(extra[name])))
            elif "." in name:
                res, att = name.split(".", 1)
                out.append(str(self.resolve({"Fn::GetAtt": [res, att]})))
            else:
                out.append(str(self._ref(name)))
            i = k + 1
        return "".join(out)

    # ------------------------------------------------------------------ resources
    def tables(self) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.of_type("AWS::DynamoDB::Table").items()}

    def create_table_args(self, *, streams: bool = True) -> dict[str, dict[str, Any]]:
        """Each table's CreateTable arguments as the template defines it (keys, indexes, on-demand
        billing; its stream enabled where it has one, unless ``streams`` is False)."""
        args: dict[str, dict[str, Any]] = {}
        for name, props in self.tables().items():
            kwargs: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if streams and props.get("StreamSpecification"):
                kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            args[name] = kwargs
        return args

    def queues(self) -> dict[str, dict[str, Any]]:
        return {k: v.get("Properties", {}) for k, v in self.of_type("AWS::SQS::Queue").items()}

    def parameter_error(self, name: str, value: str) -> str | None:
        """Why ``value`` is not allowed for the template parameter ``name`` (its AllowedValues or
        AllowedPattern), or None."""
        spec = self.parameter_specs.get(name) or {}
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            return f"must be one of {', '.join(str(a) for a in allowed)} (template.yaml's {name})"
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            return f"must match {pattern} (template.yaml's {name})"
        return None

    def layer_paths(self) -> list[Path]:
        """The layers' source folders (on Lambda their python/ folder is on the path)."""
        return [
            ROOT / layer["Properties"]["ContentUri"]
            for layer in self.of_type("AWS::Serverless::LayerVersion").values()
        ]

    def global_environment(self) -> dict[str, str]:
        """Globals.Function's environment, resolved: what a function without its own value gets."""
        return {k: str(self.resolve(v)) for k, v in self._global_env().items()}

    def _global_env(self) -> dict[str, Any]:
        globals_fn = (self.raw.get("Globals") or {}).get("Function", {})
        return dict((globals_fn.get("Environment") or {}).get("Variables", {}))

    def functions(self) -> dict[str, Function]:
        globals_fn = (self.raw.get("Globals") or {}).get("Function", {})
        global_env = self._global_env()
        out: dict[str, Function] = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = res["Properties"]
            env = {**global_env, **((props.get("Environment") or {}).get("Variables", {}))}
            events = [
                EventSource(name, ev["Type"], ev.get("Properties", {}))
                for name, ev in (props.get("Events") or {}).items()
            ]
            out[logical_id] = Function(
                logical_id=logical_id,
                code_dir=ROOT / props["CodeUri"],
                handler=props["Handler"],
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                events=events,
                parameter_refs={
                    k: v["Ref"]
                    for k, v in env.items()
                    if isinstance(v, dict) and isinstance(v.get("Ref"), str) and v["Ref"] in self.parameters
                },
            )
        return out

    def event_source_for(self, function: Function, type_name: str) -> EventSource | None:
        return next((e for e in function.events if e.type == type_name), None)
