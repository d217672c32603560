"""The functions' settings on the local stack: template.yaml's environment, overridden from the
environment of `make run` / `python -m local_stack`.

A variable that a function's environment in template.yaml sets, or that a settings model in
exchange/settings.py reads, is taken from the local environment when it is set there
(``STARTING_CASH=500.00 make run``), for every function that has it; a setting added to the template
or to a model later is settable the same way, with nothing to add here. ``LOG_LEVEL`` is the local
name of the template's ``LogLevel`` parameter (the functions' ``POWERTOOLS_LOG_LEVEL``).

Each value is checked before anything starts, against the template parameter it replaces (its
AllowedValues / AllowedPattern) and against every settings field of its name (the same pydantic
validation as a cold start): a bad one stops the start with one line naming the variable and why.

What the local stack itself decides (its own tables, queue and gateway, the secrets it generates,
plain-http cookies, each function's service name) is not settable: ``NOT_SETTABLE`` says why, and a
value set for one of these is reported as ignored rather than silently dropped.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from local_stack.template import LocalTemplate

# the local name of the template's LogLevel parameter, and the functions' variable it sets
LOG_LEVEL = "LOG_LEVEL"
LOG_LEVEL_TARGET = "POWERTOOLS_LOG_LEVEL"

_SECRETS = "no Secrets Manager locally: the stack generates the key and keeps it in LOCAL_STATE_DIR"
NOT_SETTABLE: dict[str, str] = {
    "TABLE_NAME": "the local stack's own table",
    "CONNECTIONS_TABLE_NAME": "the local stack's own table",
    "ORDERS_QUEUE_URL": "the local stack's own queue",
    "WS_MANAGEMENT_ENDPOINT": "the local WebSocket gateway's (choose its port with WS_PORT)",
    "JWT_SECRET_ARN": _SECRETS,
    "JWT_SECRET": _SECRETS,
    "ADMIN_PASSWORD_SECRET_ARN": "no Secrets Manager locally: the admin's password is ADMIN_PASSWORD",
    "COOKIE_SECURE": "the local stack serves plain http, so its cookies are not Secure",
    "STAGE": "the template's Stage default (the WebSocket gateway's path)",
    "POWERTOOLS_SERVICE_NAME": "each function's own, from template.yaml",
    "POWERTOOLS_TRACE_DISABLED": "no X-Ray locally",
    "POWERTOOLS_METRICS_DISABLED": "no CloudWatch locally",
}
# settable, but through the stack's own configuration (StackConfig), not this mechanism
STACK_CONFIG = frozenset({"ADMIN_EMAIL", "ADMIN_PASSWORD"})
# the stack points every client at its moto and sets these itself; commonly set in a shell: no note
_AWS = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})


class FunctionSettingError(ValueError):
    """A function setting from the local environment that a function would refuse (one line)."""


@dataclass(frozen=True)
class FunctionEnvironment:
    """What the local environment sets for the functions, checked."""

    overrides: dict[str, str] = field(default_factory=dict)  # variable -> value, for the functions
    ignored: dict[str, str] = field(default_factory=dict)  # variable -> why it is not settable

    def notes(self) -> list[str]:
        return [
            f"{name} is set by the local stack ({why}): the value from the environment is ignored"
            for name, why in sorted(self.ignored.items())
        ]


def _settings_fields() -> dict[str, list[tuple[Any, str]]]:
    """Every settings field the functions read from the environment: variable -> (model, field)s."""
    module = importlib.import_module("exchange.settings")
    fields: dict[str, list[tuple[Any, str]]] = {}
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if not issubclass(cls, module.EnvSettings) or cls is module.EnvSettings:
            continue
        for name, info in cls.model_fields.items():
            key = info.validation_alias if isinstance(info.validation_alias, str) else name
            fields.setdefault(key.upper(), []).append((cls, name))
    return fields


def _field_error(model: Any, field: str, value: str) -> str | None:
    """The model's own check of one field: its type, bounds and field validators (as at cold start)."""
    try:
        model.__pydantic_validator__.validate_assignment(model.model_construct(), field, value)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return None


def add_layer_paths(template: LocalTemplate) -> None:
    """On Lambda the layers' python/ folder is on the path; here, their source folder is."""
    for path in template.layer_paths():
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def settable(template: LocalTemplate) -> set[str]:
    """The function settings the local environment may set."""
    add_layer_paths(template)
    names = set(_settings_fields())
    for fn in template.functions().values():
        names.update(fn.environment)
    return names - set(NOT_SETTABLE) - STACK_CONFIG - _AWS


def _parameter_refs(template: LocalTemplate) -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {}
    for fn in template.functions().values():
        for name, parameter in fn.parameter_refs.items():
            refs.setdefault(name, set()).add(parameter)
    return refs


def _problems(template: LocalTemplate, name: str, value: str) -> Iterator[str]:
    for parameter in sorted(_parameter_refs(template).get(name, ())):
        reason = template.parameter_error(parameter, value)
        if reason:
            yield reason
    for model, field_name in _settings_fields().get(name, []):
        reason = _field_error(model, field_name, value)
        if reason:
            yield reason


def from_environ(environ: Mapping[str, str], template: LocalTemplate | None = None) -> FunctionEnvironment:
    """The function settings ``environ`` sets, each checked; FunctionSettingError for the first bad one."""
    template = template or LocalTemplate()
    overrides: dict[str, str] = {}
    for name in sorted(settable(template)):
        if name in environ:
            overrides[name] = environ[name]
    if LOG_LEVEL in environ:  # the LogLevel parameter: wins over a POWERTOOLS_LOG_LEVEL of its own
        overrides[LOG_LEVEL_TARGET] = environ[LOG_LEVEL].upper()
    for name, value in overrides.items():
        shown = LOG_LEVEL if name == LOG_LEVEL_TARGET and LOG_LEVEL in environ else name
        for problem in _problems(template, name, value):
            raise FunctionSettingError(f"{shown}={environ[shown]!r}: {problem}")
    ignored = {name: why for name, why in NOT_SETTABLE.items() if name in environ}
    return FunctionEnvironment(overrides, ignored)
