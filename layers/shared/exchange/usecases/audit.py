"""The admin's audit reads: a stock's log page, its trades with their order ids (by sequence) and
the orders resting in its book, what ``python -m tools.replay`` compares a replay with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.audit_log import AuditLogStore, LogPage
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import UnknownSymbol

LOG_LIMIT = 100  # entries per page by default
LOG_MAX = 1000  # at most (a page reads at most limit + 1 items, each far under 400 KB)
TRADES_LIMIT = 100
TRADES_MAX = 1000


@dataclass
class Audit:
    store: ExchangeStore

    @property
    def log_store(self) -> AuditLogStore:
        return AuditLogStore(self.store.table)

    def _known(self, symbol: str) -> None:
        if self.store.stock(symbol) is None:
            raise UnknownSymbol(f"no stock {symbol}")

    def log(self, symbol: str, after: int, limit: int) -> LogPage:
        self._known(symbol)
        return self.log_store.page(symbol, after, limit)

    def trades(self, symbol: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        self._known(symbol)
        return self.log_store.trades(symbol, after, limit)

    def book(self, symbol: str) -> dict[str, list[dict[str, Any]]]:
        """The resting orders and the untriggered stops, each in arrival order."""
        self._known(symbol)
        orders, stops = self.log_store.resting(symbol)
        return {"orders": orders, "stops": stops}
