"""``watch SYMBOL``: the book and the tape, live over the WebSocket (rich.live on a terminal; one line
per change when the output is not a terminal, then the final view)."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from tools.terminal import render
from tools.terminal.client import Api
from tools.terminal.session import ApiError

TAPE = 20  # trades kept on screen


class MarketView:
    """The book and tape of one stock, from a REST snapshot and then the stock channel's events."""

    def __init__(self, book: dict[str, Any], trades: list[dict[str, Any]]) -> None:
        self.book = book
        self.trades = trades[:TAPE]
        self.seen = {t["id"] for t in trades}

    def apply(self, event: dict[str, Any]) -> str | None:
        """Take one pushed event; a line saying what changed, or None if nothing did."""
        data = event.get("data") or {}
        if event.get("type") == "ORDER_BOOK_UPDATED" and data.get("sequence", 0) > self.book["sequence"]:
            self.book = data  # the whole top of the book as of that sequence: a gap needs no re-read
            bid = data["bids"][0]["price"] if data["bids"] else "-"
            ask = data["asks"][0]["price"] if data["asks"] else "-"
            return f"book seq {data['sequence']}: bid {bid} / ask {ask}"
        if event.get("type") == "TRADE_EXECUTED" and data.get("trade_id") not in self.seen:
            self.seen.add(data["trade_id"])
            trade = {**data, "id": data["trade_id"]}
            self.trades = [trade, *self.trades][:TAPE]
            return render.trade_line(trade)
        return None


def _subscribe(ws: ClientConnection, symbol: str) -> None:
    ws.send(json.dumps({"action": "subscribe", "channels": [f"stock:{symbol}"]}))
    while True:
        ack = json.loads(ws.recv(timeout=10))
        if ack.get("type") == "subscribed":
            return
        if ack.get("type") == "error":
            error = ack.get("error") or {}
            raise ApiError(
                400, str(error.get("code", "error")), str(error.get("message", "subscribe refused"))
            )


def watch(api: Api, ws_url: str, symbol: str, console: Console, seconds: float | None = None) -> None:
    try:
        with connect(ws_url, open_timeout=10) as ws:
            _subscribe(ws, symbol)  # before the snapshot: nothing between the two is missed
            fresh = {"Cache-Control": "no-cache"}  # the snapshot from the table, not a cached answer
            book = api.call("GET", f"/api/stocks/{symbol}/orderbook", headers=fresh)
            trades = api.call("GET", f"/api/stocks/{symbol}/trades", params={"limit": TAPE}, headers=fresh)
            view = MarketView(book, trades["trades"])
            _loop(ws, view, console, seconds)
    except (OSError, WebSocketException) as exc:
        raise ApiError(0, "unreachable", f"WebSocket {ws_url}: {exc}") from exc


def _loop(ws: ClientConnection, view: MarketView, console: Console, seconds: float | None) -> None:
    end = None if seconds is None else time.monotonic() + seconds
    status = "watching (Ctrl-C to stop)"
    live = Live(render.watch_view(view.book, view.trades, status), console=console, auto_refresh=False) \
        if console.is_terminal else None  # fmt: skip
    if live is None:
        console.print(f"watching {view.book['symbol']} (seq {view.book['sequence']})")
    try:
        if live is not None:
            live.start()
        while end is None or time.monotonic() < end:
            wait = 1.0 if end is None else max(0.01, min(1.0, end - time.monotonic()))
            try:
                event = json.loads(ws.recv(timeout=wait))
            except TimeoutError:
                continue
            line = view.apply(event)
            if line is None:
                continue
            if live is not None:
                live.update(render.watch_view(view.book, view.trades, status), refresh=True)
            else:
                console.print(line)
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.stop()
    if live is None:
        console.print(render.watch_view(view.book, view.trades))
