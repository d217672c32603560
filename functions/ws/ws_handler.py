"""Lambda entry point of the WebSocket API: $connect (JWT check), $disconnect, subscribe, $default.

Importing this module touches no AWS service: the JWT signing key is read (Secrets Manager on
AWS) on the first invocation and kept for the container's life, as it was when read at import;
the management API client (replies) is made on the first reply.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from exchange import json_limits
from exchange.adapters.connections import ConnectionGone, ConnectionPusher, ConnectionStore
from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.secrets import secret_value
from exchange.domain.errors import DomainError, Unauthorized
from exchange.observability import logger, metrics, tracer
from exchange.security.tokens import TokenService
from exchange.settings import WsSettings
from exchange.usecases.subscriptions import Subscriptions

settings = WsSettings()  # type: ignore[call-arg]


@cache
def subscriptions() -> Subscriptions:
    secret = settings.JWT_SECRET or secret_value(settings.JWT_SECRET_ARN or "")
    return Subscriptions(
        ConnectionStore(settings.CONNECTIONS_TABLE_NAME),
        ExchangeStore(settings.TABLE_NAME),
        TokenService(secret, settings.JWT_ISSUER, settings.JWT_AUDIENCE, settings.ACCESS_TOKEN_TTL_SECONDS),
    )


@cache
def pusher() -> ConnectionPusher:
    return ConnectionPusher(settings.WS_MANAGEMENT_ENDPOINT)


def _reply(connection_id: str, body: dict[str, Any]) -> None:
    try:
        pusher().send(connection_id, json.dumps(body, separators=(",", ":")).encode())
    except ConnectionGone:
        subscriptions().disconnect(connection_id)


def _message(connection_id: str, raw: str | None) -> None:
    try:
        body = json_limits.loads(raw or "")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError as exc:  # json_limits.TooDeep too: 100,000 nested "[" is an error frame, not a crash
        too_deep = isinstance(exc, json_limits.TooDeep)
        message = f"the message is {exc}" if too_deep else "messages are JSON objects"
        _reply(connection_id, {"type": "error", "error": {"code": "malformed_request", "message": message}})
        return
    action = body.get("action")
    try:
        if action == "subscribe":
            _reply(
                connection_id,
                {
                    "type": "subscribed",
                    "channels": subscriptions().subscribe(connection_id, body.get("channels")),
                },
            )
        elif action == "unsubscribe":
            _reply(
                connection_id,
                {
                    "type": "unsubscribed",
                    "channels": subscriptions().unsubscribe(connection_id, body.get("channels")),
                },
            )
        elif action == "ping":
            _reply(connection_id, {"type": "pong"})
        else:
            _reply(
                connection_id,
                {
                    "type": "error",
                    "error": {"code": "unknown_action", "message": "actions: subscribe, unsubscribe, ping"},
                },
            )
    except DomainError as exc:
        _reply(connection_id, {"type": "error", "error": {"code": exc.code, "message": exc.message}})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ctx = event["requestContext"]
    route, connection_id = ctx["routeKey"], ctx["connectionId"]
    if route == "$connect":
        # present but empty (`?token=`) is a bad token, not "no token": the use case refuses it
        token = (event.get("queryStringParameters") or {}).get("token")
        try:
            subscriptions().connect(connection_id, token)
        except Unauthorized:
            return {"statusCode": 401, "body": "Unauthorized"}
        return {"statusCode": 200}
    if route == "$disconnect":
        subscriptions().disconnect(connection_id)
        return {"statusCode": 200}
    _message(connection_id, event.get("body"))
    return {"statusCode": 200}
