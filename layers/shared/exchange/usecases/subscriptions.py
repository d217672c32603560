"""WebSocket connections: who may connect, who may subscribe to what."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from exchange.adapters.connections import ConnectionStore
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import Forbidden, Unauthorized, UnknownSymbol, ValidationFailed
from exchange.security.tokens import TokenService

CHANNEL = re.compile(r"^(stock:[A-Z]{1,8}|user:[0-9A-Za-z]{1,64})$")
MAX_CHANNELS = 50


@dataclass
class Subscriptions:
    connections: ConnectionStore
    store: ExchangeStore
    tokens: TokenService

    def connect(self, connection_id: str, token: str | None) -> str | None:
        """Raises Unauthorized for a bad token (an empty one too: ``?token=`` is not "no token");
        no token (None) = public channels only."""
        user_id = None
        if token is not None:
            user_id = self.tokens.verify(token).user_id
        now = int(time.time())
        self.connections.connect(connection_id, user_id, now)
        if user_id:
            self.connections.subscribe(connection_id, [f"user:{user_id}"], now)
        return user_id

    def disconnect(self, connection_id: str) -> None:
        self.connections.disconnect(connection_id)

    def subscribe(self, connection_id: str, channels: Any) -> list[str]:
        channels = _channels(channels)
        meta = self.connections.meta(connection_id)
        if meta is None:
            raise Unauthorized("unknown connection")
        user_id = meta.get("user_id")
        for ch in channels:
            if ch.startswith("user:") and ch != f"user:{user_id}":
                raise Forbidden(f"channel {ch} is not yours")
        for ch in channels:
            if ch.startswith("stock:") and self.store.stock(ch.split(":", 1)[1]) is None:
                raise UnknownSymbol(f"no stock {ch.split(':', 1)[1]}")
        self.connections.subscribe(connection_id, channels, int(time.time()))
        return channels

    def unsubscribe(self, connection_id: str, channels: Any) -> list[str]:
        channels = _channels(channels)
        self.connections.unsubscribe(connection_id, channels)
        return channels


def _channels(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_CHANNELS:
        raise ValidationFailed(f"channels must be a list of 1 to {MAX_CHANNELS} channel names")
    if not all(isinstance(c, str) and CHANNEL.match(c) for c in value):
        raise ValidationFailed("a channel is stock:SYMBOL or user:ID")
    return list(dict.fromkeys(value))
