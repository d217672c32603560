"""A user's cash, holdings, realized and unrealized P&L, fills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange import keys
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.money import format_cents
from exchange.usecases.cursors import decode_cursor, encode_cursor
from exchange.views import cash_view, holding_view, user_fill_view


@dataclass
class Portfolio:
    store: ExchangeStore

    def view(self, user_id: str) -> dict[str, Any]:
        cash = self.store.cash(user_id) or {}
        holdings = self.store.holdings(user_id)
        stocks = {h["symbol"]: self.store.stock(h["symbol"]) or {} for h in holdings}
        out, realized, market_value = [], 0, 0
        for h in sorted(holdings, key=lambda h: h["symbol"]):
            realized += int(h.get("realized_pnl", 0))
            s = stocks[h["symbol"]]
            view = holding_view(h, s.get("last_price"), int(s.get("reference_price", 0)))
            if view["quantity"] == 0 and not int(h.get("realized_pnl", 0)):
                continue
            mark = s.get("last_price") or int(s.get("reference_price", 0))
            market_value += int(mark) * view["quantity"]
            out.append(view)
        total_cash = int(cash.get("available", 0)) + int(cash.get("reserved", 0))
        return {
            "cash": cash_view(cash),
            "holdings": out,
            "realized_pnl": format_cents(realized),
            "equity": format_cents(total_cash + market_value),
        }

    def fills(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        start = decode_cursor(cursor, partition=("gsi1pk", keys.user_fills_gsi(user_id)))
        page = self.store.user_fills(user_id, limit, start)
        return [user_fill_view(f) for f in page.items], encode_cursor(page.last_key)
