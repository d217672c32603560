"""The api and ws functions as on AWS, with only secret ARNs configured: nothing is read at import
(the secrets do not exist yet when the modules load), the signing key and the admin's password are
read on first use, and the key read is then kept for the container's life (as when it was read at
import)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from exchange.security.tokens import TokenService
from local_stack.lambda_runtime import LocalFunction
from local_stack.template import LocalTemplate
from tests.integration.conftest import Exchange

EVENTS = Path(__file__).resolve().parents[2] / "events"
KEY = "k" * 48


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="module")
def functions(exchange: Exchange) -> Iterator[dict[str, LocalFunction]]:
    env = {
        "TABLE_NAME": "ExchangeTable",
        "CONNECTIONS_TABLE_NAME": "ConnectionsTable",
        "ORDERS_QUEUE_URL": exchange.queue.queue_url,
        "JWT_SECRET_ARN": "cold-start-jwt-key",
        "ADMIN_EMAIL": "first-admin@example.com",
        "ADMIN_PASSWORD_SECRET_ARN": "cold-start-admin-password",
        "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/dev",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    unset = ("JWT_SECRET", "ADMIN_PASSWORD")
    saved = {k: os.environ.get(k) for k in (*env, *unset)}
    os.environ.update(env)
    for k in unset:
        os.environ.pop(k, None)
    templates = LocalTemplate().functions()
    # loaded while neither secret exists: an import that read one would fail here
    loaded = {name: LocalFunction(templates[name]) for name in ("ApiFunction", "WsFunction")}
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="cold-start-jwt-key", SecretString=KEY)
    secrets.create_secret(Name="cold-start-admin-password", SecretString="first-admin-password")
    yield loaded
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _login(api: LocalFunction, email: str, password: str) -> dict[str, Any]:
    login = event("api_register.json")
    login["path"] = "/api/auth/login"
    login["pathParameters"] = {"proxy": "auth/login"}
    login["requestContext"]["path"] = "/dev/api/auth/login"
    login["body"] = json.dumps({"email": email, "password": password})
    result: dict[str, Any] = api.invoke(login)
    return result


def _connect(ws: LocalFunction, token: str) -> int:
    connect = event("ws_connect.json")
    connect["queryStringParameters"] = {"token": token}
    return int(ws.invoke(connect)["statusCode"])


def test_secrets_are_read_on_first_use_and_the_key_is_kept(
    functions: dict[str, LocalFunction], exchange: Exchange
) -> None:
    api, ws = functions["ApiFunction"], functions["WsFunction"]

    # When the api's first invocation logs the configured admin in
    answer = _login(api, "first-admin@example.com", "first-admin-password")

    # Then the first admin was made from the password secret, and its token is signed with the key
    assert answer["statusCode"] == 200, answer
    admin_id = exchange.store.user_id_by_email("first-admin@example.com")
    assert admin_id and exchange.store.profile(admin_id)["role"] == "admin"
    token = json.loads(answer["body"])["access_token"]
    assert (
        TokenService(KEY, "exchange-simulator", "exchange-simulator-api", 900).verify(token).user_id
        == admin_id
    )

    # and the ws function, reading the same key on its first invocation, accepts that token
    assert _connect(ws, token) == 200
    assert _connect(ws, "not-a-token") == 401

    # When the secret changes afterwards, the key read first stays (the container's life)
    boto3.client("secretsmanager").put_secret_value(SecretId="cold-start-jwt-key", SecretString="n" * 48)
    other = TokenService("n" * 48, "exchange-simulator", "exchange-simulator-api", 900).issue(
        admin_id, "admin"
    )
    assert _connect(ws, token) == 200
    assert _connect(ws, other) == 401
