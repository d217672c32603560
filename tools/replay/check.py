"""Pull a stock's whole audit log from a running system (admin), replay it through the matching
engine alone (``exchange.domain.replay``) and compare with the stored trades (every page, with
their order ids) and the orders resting in the book: "identical", or the first difference."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from exchange.domain.engine import BUY, SELL
from exchange.domain.money import to_cents
from exchange.domain.replay import IDENTICAL, LogEntry, ReplayTrade, compare, replay
from exchange.domain.stops import StopOrder

PAGE = 1000


@dataclass
class Client:
    """The api as an admin sees it."""

    http: httpx.Client
    token: str = ""

    @classmethod
    def login(cls, url: str, email: str, password: str, timeout: float = 30) -> Client:
        http = httpx.Client(base_url=url.rstrip("/").removesuffix("/api"), timeout=timeout)
        r = http.post("/api/auth/login", json={"email": email, "password": password})
        if r.status_code != 200:
            raise SystemExit(f"login as {email} failed: {r.status_code} {r.text}")
        return cls(http, str(r.json()["access_token"]))

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params, headers={"Authorization": f"Bearer {self.token}"})
        r.raise_for_status()
        return r.json()

    def symbols(self) -> list[str]:
        return sorted(s["symbol"] for s in self.get("/api/stocks")["stocks"])

    def _pages(self, path: str, key: str) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self.get(path, after=after, limit=PAGE)
            yield from page[key]
            if page["next_after"] is None:
                return
            after = int(page["next_after"])

    def log(self, symbol: str) -> list[LogEntry]:
        return [LogEntry.from_view(e) for e in self._pages(f"/api/admin/stocks/{symbol}/log", "entries")]

    def trades(self, symbol: str) -> list[ReplayTrade]:
        return [_trade(t) for t in self._pages(f"/api/admin/stocks/{symbol}/trades", "trades")]

    def resting(self, symbol: str) -> list[tuple[str, str, int, int, int]]:
        """In arrival order, as ``OrderBook.rebuild`` takes them."""
        return self.book(symbol)[0]

    def book(self, symbol: str) -> tuple[list[tuple[str, str, int, int, int]], list[StopOrder]]:
        """The resting orders (as ``OrderBook.rebuild`` takes them) and the waiting stops, each in
        arrival order."""
        body = self.get(f"/api/admin/stocks/{symbol}/book")
        orders, stops = body["orders"], body.get("stops", [])
        waiting = [
            StopOrder(
                s["id"],
                s["user_id"],
                BUY if s["side"] == "buy" else SELL,
                int(s["remaining_quantity"]),
                to_cents(s["stop_price"]),
                to_cents(s["price"]),
                s["time_in_force"],
                s["type"] == "stop",
            )
            for s in stops
        ]
        return [
            (
                o["id"],
                o["user_id"],
                BUY if o["side"] == "buy" else SELL,
                to_cents(o["price"]),
                int(o["remaining_quantity"]),
            )
            for o in orders
        ], waiting


def _trade(t: dict[str, Any]) -> ReplayTrade:
    price, qty = to_cents(t["price"]), int(t["quantity"])
    return ReplayTrade(int(t["seq"]), t["buy_order_id"], t["sell_order_id"], price, qty, t["aggressor_side"])


def check_stock(client: Client, symbol: str) -> str:
    """ "identical" or the first difference (also: a log that does not replay)."""
    entries = client.log(symbol)
    try:
        replayed = replay(entries, symbol)
    except ValueError as exc:
        return f"the log does not replay: {exc}"
    # read the book before the trades: a stored state that moves meanwhile shows as a difference
    resting, stops = client.book(symbol)
    return compare(replayed, client.trades(symbol), resting, stops)


def replay_all(
    client: Client,
    symbols: list[str],
    settle_s: float = 0.0,
    out: Callable[[str], None] = print,
) -> dict[str, str]:
    """Each stock's verdict; one that differs is checked again for up to ``settle_s`` seconds (the
    system may still be finishing a batch, the book's index may lag a moment)."""
    verdicts: dict[str, str] = {}
    for symbol in symbols:
        deadline = time.monotonic() + settle_s
        verdict = check_stock(client, symbol)
        while verdict != IDENTICAL and time.monotonic() < deadline:
            time.sleep(0.5)
            verdict = check_stock(client, symbol)
        verdicts[symbol] = verdict
        out(f"{symbol}: {verdict}")
    return verdicts
