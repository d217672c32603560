"""The market as the demo traders see it: one public WebSocket connection subscribed to every stock
channel (trades, book changes), over a first picture from GET /api/stocks. Reconnects if dropped."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import replace
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from local_stack.demo.client import cents
from local_stack.demo.strategies import Stock

TRADES_KEPT = 20


class MarketFeed(threading.Thread):
    def __init__(self, ws_url: str, stocks: list[Stock], stop: threading.Event) -> None:
        super().__init__(name="demo-feed", daemon=True)
        self.ws_url, self.stop = ws_url, stop
        self.lock = threading.Lock()
        self.stocks = {s.symbol: s for s in stocks}
        self.trades: dict[str, deque[int]] = {s.symbol: deque(maxlen=TRADES_KEPT) for s in stocks}
        self.trade_count = 0
        self.subscribed = threading.Event()

    def view(self) -> dict[str, Stock]:
        with self.lock:
            return {sym: replace(s, trades=tuple(self.trades[sym])) for sym, s in self.stocks.items()}

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._listen()
            except (OSError, WebSocketException, TimeoutError):
                self.stop.wait(1)  # the gateway restarting or gone: try again, until the stack stops

    def _listen(self) -> None:
        with connect(self.ws_url, open_timeout=10, max_size=2**22) as conn:
            channels = [f"stock:{symbol}" for symbol in self.stocks]
            conn.send(json.dumps({"action": "subscribe", "channels": channels}))
            while not self.stop.is_set():
                try:
                    raw = conn.recv(timeout=0.5)
                except TimeoutError:
                    continue
                self.on_message(json.loads(raw))

    def on_message(self, msg: dict[str, Any]) -> None:
        kind, data = msg.get("type"), msg.get("data") or {}
        if kind == "subscribed":
            self.subscribed.set()
            return
        symbol = data.get("symbol")
        with self.lock:
            if symbol not in self.stocks:
                return
            if kind == "TRADE_EXECUTED":
                price = cents(data["price"])
                self.trades[symbol].append(price or 0)
                self.stocks[symbol] = replace(self.stocks[symbol], last=price)
                self.trade_count += 1
            elif kind == "ORDER_BOOK_UPDATED":
                bids, asks = data.get("bids") or [], data.get("asks") or []
                self.stocks[symbol] = replace(
                    self.stocks[symbol],
                    best_bid=cents(bids[0]["price"]) if bids else None,
                    best_ask=cents(asks[0]["price"]) if asks else None,
                )
