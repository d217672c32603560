"""One settings model per function, read from the environment once, validated at cold start."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Base(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

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
    STARTING_CASH: str = "100000.00"
    REFRESH_TOKEN_TTL_SECONDS: Annotated[int, Field(gt=0)] = 14 * 86_400
    COOKIE_SECURE: bool = True
    ADMIN_EMAIL: str | None = None
    ADMIN_PASSWORD: str | None = None
    ADMIN_PASSWORD_SECRET_ARN: str | None = None
    LOGIN_MAX_FAILURES_PER_EMAIL: Annotated[int, Field(gt=0)] = 5
    LOGIN_MAX_FAILURES_PER_IP: Annotated[int, Field(gt=0)] = 20
    LOGIN_WINDOW_SECONDS: Annotated[int, Field(gt=0)] = 900
    MAX_BODY_BYTES: Annotated[int, Field(gt=0)] = 16_384


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
