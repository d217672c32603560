"""The settings models read the environment as pydantic-settings' ``BaseSettings`` did (they no
longer import it: a cold-start cost): each model is compared with its ``BaseSettings`` twin (the
same fields) over the same environments, answers and refusals alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from exchange import settings

MODELS = [
    settings.ApiSettings,
    settings.WsSettings,
    settings.MatcherSettings,
    settings.NotifierSettings,
    settings.SchedulerSettings,
]

ENVIRONMENTS: list[dict[str, str]] = [
    {},  # required fields missing
    {
        "TABLE_NAME": "T",
        "ORDERS_QUEUE_URL": "q",
        "CONNECTIONS_TABLE_NAME": "C",
        "WS_MANAGEMENT_ENDPOINT": "w",
    },
    {
        "table_name": "lower",  # case-insensitive, as BaseSettings
        "ORDERS_QUEUE_URL": "q",
        "CONNECTIONS_TABLE_NAME": "C",
        "WS_MANAGEMENT_ENDPOINT": "w",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "ignored-the-alias-is-read",
        "COOKIE_SECURE": "false",
        "MARKET_CLOSE_MINUTE_UTC": "1230",
        "JWT_SECRET": "",
        "PENDING_GRACE_SECONDS": "30",
        "UNRELATED": "x",
    },
    {
        "TABLE_NAME": "T",
        "ORDERS_QUEUE_URL": "q",
        "CONNECTIONS_TABLE_NAME": "C",
        "WS_MANAGEMENT_ENDPOINT": "w",
        "MARKET_CLOSE_MINUTE_UTC": "1440",
    },  # out of range
    {"TABLE_NAME": "", "ORDERS_QUEUE_URL": "q", "CONNECTIONS_TABLE_NAME": "C", "WS_MANAGEMENT_ENDPOINT": "w"},
    {
        "TABLE_NAME": "T",
        "ORDERS_QUEUE_URL": "q",
        "CONNECTIONS_TABLE_NAME": "C",
        "WS_MANAGEMENT_ENDPOINT": "w",
        "COOKIE_SECURE": "maybe",
        "ACCESS_TOKEN_TTL_SECONDS": "x",
    },  # not a bool, not an int
]


def _twin(model: type[settings.EnvSettings]) -> type[BaseSettings]:
    """The same fields on pydantic-settings' BaseSettings, configured as the models used to be."""
    namespace: dict[str, Any] = {
        "model_config": SettingsConfigDict(extra="ignore", frozen=True),
        "__annotations__": {name: f.annotation for name, f in model.model_fields.items()},
    }
    namespace.update({name: f for name, f in model.model_fields.items()})
    return type(f"{model.__name__}Twin", (BaseSettings,), namespace)


@pytest.fixture
def environ() -> Iterator[dict[str, str]]:
    saved = dict(os.environ)
    yield os.environ  # type: ignore[misc]
    os.environ.clear()
    os.environ.update(saved)


def _outcome(make: Any, **kwargs: Any) -> Any:
    try:
        return make(**kwargs).model_dump()
    except ValidationError as exc:
        return sorted((tuple(e["loc"]), e["type"]) for e in exc.errors())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_model_reads_the_environment_as_base_settings_did(
    model: type[settings.EnvSettings], env: dict[str, str], environ: dict[str, str]
) -> None:
    for key in [
        k for k in environ if k.upper() in {n.upper() for n in model.model_fields} | {"AWS_DEFAULT_REGION"}
    ]:
        del environ[key]
    environ.update(env)
    assert _outcome(model) == _outcome(_twin(model))
    # keyword arguments win over the environment, as they did
    assert _outcome(model, TABLE_NAME="kw", ORDERS_QUEUE_URL="kwq") == _outcome(
        _twin(model), TABLE_NAME="kw", ORDERS_QUEUE_URL="kwq"
    )


def test_the_settings_are_frozen_and_a_non_scalar_field_is_refused() -> None:
    s = settings.MatcherSettings(TABLE_NAME="T")
    with pytest.raises(ValidationError):
        s.TABLE_NAME = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="scalars"):

        class _Listy(settings.EnvSettings):  # a list would have been JSON-decoded by BaseSettings
            NAMES: list[str] = []


def test_what_the_environment_gives_an_api_function(environ: dict[str, str]) -> None:
    for key in ("AWS_DEFAULT_REGION", "COOKIE_SECURE", "MARKET_CLOSE_MINUTE_UTC", "JWT_SECRET"):
        environ.pop(key, None)
    environ.update(ENVIRONMENTS[2])
    s = settings.ApiSettings()  # type: ignore[call-arg]
    assert (s.TABLE_NAME, s.AWS_REGION, s.COOKIE_SECURE, s.MARKET_CLOSE_MINUTE_UTC) == (
        "lower",
        "eu-west-1",
        False,
        1230,
    )
    assert s.JWT_SECRET == "" and s.ADMIN_EMAIL is None and s.ACCESS_TOKEN_TTL_SECONDS == 900
