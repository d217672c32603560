"""One WebSocket connection per trader: subscribed to its user channel (by token) and to every
stock channel of the run; keeps every pushed message, raw, in arrival order."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class Listener(threading.Thread):
    def __init__(self, url: str, token: str, user_id: str, channels: list[str]) -> None:
        super().__init__(name=f"ws-{user_id[-6:]}", daemon=True)
        self.url, self.token, self.user_id, self.channels = url, token, user_id, channels
        self.messages: list[tuple[str, dict[str, Any]]] = []  # (raw, parsed) in arrival order
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self.last_at = time.monotonic()
        self.error: str | None = None
        self.partially_filled: set[str] = set()  # order ids seen partially filled (cancel targets)
        self.trade_seqs: dict[str, set[int]] = {}  # symbol -> TRADE_EXECUTED sequences received
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            with connect(f"{self.url}?token={self.token}", open_timeout=20, max_size=2**22) as conn:
                conn.send(json.dumps({"action": "subscribe", "channels": self.channels}))
                while not self.stopping.is_set():
                    try:
                        raw = conn.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    text = raw if isinstance(raw, str) else raw.decode()
                    msg = json.loads(text)
                    self.last_at = time.monotonic()
                    if msg.get("type") == "subscribed":
                        self.subscribed.set()
                        continue
                    if msg.get("type") in ("pong", "unsubscribed", "error"):
                        if msg.get("type") == "error":
                            self.error = f"server error message: {text[:300]}"
                        continue
                    with self.lock:
                        self.messages.append((text, msg))
                        data = msg.get("data") or {}
                        if msg.get("type") == "TRADE_EXECUTED":
                            self.trade_seqs.setdefault(data["symbol"], set()).add(int(data["sequence"]))
                        if msg.get("type") == "ORDER_FILLED" and data.get("status") == "partially_filled":
                            self.partially_filled.add(data["id"])
                        elif msg.get("type") in ("ORDER_FILLED", "ORDER_CANCELLED", "ORDER_EXPIRED"):
                            self.partially_filled.discard(data.get("id", ""))
        except ConnectionClosed as exc:
            if not self.stopping.is_set():
                self.error = f"connection closed by the server: {exc!r}"
        except Exception as exc:
            self.error = f"listener failed: {exc!r}"

    def has_trades(self, counts: dict[str, int]) -> bool:
        """Every trade 1..n of each stock has arrived (the WebSocket side has caught up)."""
        with self.lock:
            return all(len(self.trade_seqs.get(s, ())) >= n for s, n in counts.items())

    def mid_fill(self) -> list[str]:
        with self.lock:
            return list(self.partially_filled)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
