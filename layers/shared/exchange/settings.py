"""One settings model per function, read from the environment once, validated at cold start.

The models read the environment themselves (``EnvSettings``) rather than through pydantic-settings'
``BaseSettings``, whose import (its every source: dotenv, the CLI parser, the cloud providers, and
asyncio with them) was ~10% of a handler's cold start. What they read is what ``BaseSettings``
read for these fields: keyword arguments first, then the environment variable named like the field
(or its ``validation_alias``), case-insensitively, then the default; the value is the variable's
string, validated by pydantic (lax: "true" is a bool, "900" an int). A field whose type is not a
scalar (a list, a dict, a model: ``BaseSettings`` JSON-decoded those) is refused when its class is
made, so it cannot be misread silently.
"""

from __future__ import annotations

import os
import re
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SCALARS = (str, int, bool, float)


def _is_scalar(annotation: Any) -> bool:
    if annotation in _SCALARS:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(a is type(None) or _is_scalar(a) for a in typing.get_args(annotation))
    return False


class EnvSettings(BaseModel):
    """A frozen model whose fields not given as arguments come from the environment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            if not _is_scalar(field.annotation):
                raise TypeError(f"{cls.__name__}.{name}: settings read from the environment are scalars")

    def __init__(self, **values: Any) -> None:
        environ = {k.upper(): v for k, v in os.environ.items()}
        from_env: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            key = field.validation_alias if isinstance(field.validation_alias, str) else name
            if key not in values and name not in values and key.upper() in environ:
                from_env[key] = environ[key.upper()]
        super().__init__(**from_env, **values)


class _Base(EnvSettings):
    TABLE_NAME: Annotated[str, Field(min_length=1)]
    AWS_REGION: str = Field(default="us-east-1", validation_alias="AWS_DEFAULT_REGION")
    STAGE: str = "dev"
    # minutes after 00:00 UTC at which the trading day closes (day orders expire, day stats reset)
    MARKET_CLOSE_MINUTE_UTC: Annotated[int, Field(ge=0, lt=1440)] = 0


class _TokenSettings(_Base):
    # On AWS the key comes from Secrets Manager (JWT_SECRET_ARN); locally the stack passes JWT_SECRET.
    JWT_SECRET_ARN: str | None = None
    JWT_SECRET: str | None = None
    JWT_ISSUER: str = "exchange-simulator"
    JWT_AUDIENCE: str = "exchange-simulator-api"
    ACCESS_TOKEN_TTL_SECONDS: Annotated[int, Field(gt=0, le=86_400)] = 900


class ApiSettings(_TokenSettings):
    ORDERS_QUEUE_URL: Annotated[str, Field(min_length=1)]
    # a decimal string with two decimals (the template's StartingCash pattern): "abc" fails the cold start
    STARTING_CASH: Annotated[str, Field(pattern=r"^[0-9]{1,12}\.[0-9]{2}$")] = "100000.00"
    REFRESH_TOKEN_TTL_SECONDS: Annotated[int, Field(gt=0)] = 14 * 86_400
    COOKIE_SECURE: bool = True
    ADMIN_EMAIL: str | None = None
    ADMIN_PASSWORD: str | None = None
    ADMIN_PASSWORD_SECRET_ARN: str | None = None
    LOGIN_MAX_FAILURES_PER_EMAIL: Annotated[int, Field(gt=0)] = 5
    LOGIN_MAX_FAILURES_PER_IP: Annotated[int, Field(gt=0)] = 20
    LOGIN_WINDOW_SECONDS: Annotated[int, Field(gt=0)] = 900
    MAX_BODY_BYTES: Annotated[int, Field(gt=0)] = 16_384
    # browser origins allowed to call the api cross-origin (CORS, credentials included): a comma-separated
    # list of scheme://host[:port]; empty (the default) allows none
    CORS_ALLOWED_ORIGINS: str = ""

    @field_validator("CORS_ALLOWED_ORIGINS")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in _split_origins(value):
            if origin == "*":
                raise ValueError(
                    "'*' is not accepted: list the origins (credentials are allowed, so any origin "
                    "could read a signed-in user's answers)"
                )
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path, no trailing slash"
                )
        return value

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return _split_origins(self.CORS_ALLOWED_ORIGINS)


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _split_origins(value: str) -> tuple[str, ...]:
    """Origins as a browser sends them in ``Origin`` (lower-case scheme and host), in order."""
    return tuple(dict.fromkeys(o.strip().lower() for o in value.split(",") if o.strip()))


class WsSettings(_TokenSettings):
    CONNECTIONS_TABLE_NAME: Annotated[str, Field(min_length=1)]
    WS_MANAGEMENT_ENDPOINT: Annotated[str, Field(min_length=1)]


class MatcherSettings(_Base):
    pass


class NotifierSettings(_Base):
    CONNECTIONS_TABLE_NAME: Annotated[str, Field(min_length=1)]
    WS_MANAGEMENT_ENDPOINT: Annotated[str, Field(min_length=1)]
    # connections posted to at once per invocation (threads, and kept-alive HTTP connections);
    # 1 posts one after another. Per-connection order holds either way.
    NOTIFIER_POST_WORKERS: Annotated[int, Field(ge=1, le=256)] = 16


class SchedulerSettings(_Base):
    ORDERS_QUEUE_URL: Annotated[str, Field(min_length=1)]
    # a pending order older than this was lost on its way to the matcher: enqueue it again
    PENDING_GRACE_SECONDS: Annotated[int, Field(gt=0)] = 120
