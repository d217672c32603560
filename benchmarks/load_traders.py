"""The load benchmark's traders: asyncio + httpx.AsyncClient + one WebSocket per trader, in one process.

Each trader's WebSocket is connected with its token (subscribed to its own ``user:{id}`` channel) and
records, per order id, when its ``ORDER_ACCEPTED``, its first taker ``ORDER_FILLED`` (a fill on
arrival) and its ``ORDER_CANCELLED`` reached the client. An order is **settled** when its
``ORDER_ACCEPTED`` has arrived: the matcher commits an order's leaving ``pending`` together with
everything it did on arrival (its fills, or its cancel), so from that event on the order is resting
or final in the table (API.md, "Status").

Orders are limit orders around 100.00 on the run's stocks: "cross" ones priced through the other
side (buy 100.05 / sell 99.95), "rest" ones inside the spread's own side (buy 99.95-99.99, sell
100.01-100.05); a share of the actions cancels one of the trader's own resting orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

MID = 10_000  # cents


@dataclass
class Trader:
    email: str
    password: str
    user_id: str = ""
    token: str = ""
    resting: dict[str, float] = field(default_factory=dict)  # order id -> when it was seen resting
    window: asyncio.Semaphore | None = None  # closed loop: unsettled orders in flight

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Trace:
    """One POST /orders (or DELETE, kind "cancel") and what the client saw of it."""

    kind: str  # cross | rest | cancel
    trader: int
    sent: float
    answered: float = 0.0
    status: int = 0
    order_id: str = ""


@dataclass
class Seen:
    """Per order id: when each event first reached the client (perf_counter)."""

    accepted: float = 0.0
    filled: float = 0.0  # the first ORDER_FILLED with a taker fill (on arrival)
    cancelled: float = 0.0


class Recorder:
    def __init__(self) -> None:
        self.seen: dict[str, Seen] = {}
        self.traces: list[Trace] = []
        self.waiting: dict[str, Trader] = {}  # order id -> trader whose window it holds
        self.events: Counter[str] = Counter()
        self.ws_errors: list[str] = []

    def on_message(self, trader: Trader, raw: str | bytes) -> None:
        now = time.perf_counter()
        msg = json.loads(raw)
        kind = msg.get("type", "")
        self.events[kind] += 1
        data = msg.get("data") or {}
        order_id = data.get("id")
        if not order_id or not kind.startswith("ORDER_"):
            return
        seen = self.seen.setdefault(order_id, Seen())
        status = data.get("status")
        if kind == "ORDER_ACCEPTED" and not seen.accepted:
            seen.accepted = now
            holder = self.waiting.pop(order_id, None)
            if holder is not None and holder.window is not None:
                holder.window.release()
        elif kind == "ORDER_FILLED":
            if not seen.filled and (data.get("fill") or {}).get("liquidity") == "taker":
                seen.filled = now
            if status == "filled":
                trader.resting.pop(order_id, None)
            elif order_id not in trader.resting:
                trader.resting[order_id] = now
        elif kind in ("ORDER_CANCELLED", "ORDER_EXPIRED", "ORDER_REJECTED"):
            seen.cancelled = seen.cancelled or now
            trader.resting.pop(order_id, None)
        if kind == "ORDER_ACCEPTED" and status == "open":
            trader.resting.setdefault(order_id, now)  # until a fill or a cancel says otherwise


async def listen(url: str, trader: Trader, rec: Recorder, connected: asyncio.Event) -> None:
    try:
        async with websockets.connect(f"{url}?token={trader.token}", open_timeout=30, max_size=2**22) as ws:
            await ws.send(json.dumps({"action": "ping"}))
            async for raw in ws:
                if not connected.is_set() and json.loads(raw).get("type") == "pong":
                    connected.set()  # connected and subscribed (the token subscribes at $connect)
                    continue
                rec.on_message(trader, raw)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        rec.ws_errors.append(f"{trader.email}: {exc!r}")
        connected.set()


def order_body(rng: random.Random, symbols: list[str], cross_ratio: float) -> tuple[str, dict[str, Any]]:
    side = rng.choice(("buy", "sell"))
    buy = side == "buy"
    if rng.random() < cross_ratio:
        kind, price = "cross", MID + (5 if buy else -5)
    else:
        kind, price = "rest", MID + (-rng.randint(1, 5) if buy else rng.randint(1, 5))
    body = {
        "symbol": rng.choice(symbols),
        "side": side,
        "type": "limit",
        "quantity": rng.randint(1, 10),
        "limit_price": f"{price / 100:.2f}",
    }
    return kind, body


class Load:
    """One phase's senders on a shared AsyncClient; ``rec`` keeps what the phase saw."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        traders: list[Trader],
        symbols: list[str],
        rec: Recorder,
        *,
        cross_ratio: float,
        cancel_ratio: float,
        seed: int,
    ) -> None:
        self.http, self.traders, self.symbols, self.rec = http, traders, symbols, rec
        self.cross_ratio, self.cancel_ratio = cross_ratio, cancel_ratio
        self.rng = random.Random(seed)
        self.tasks: set[asyncio.Task[None]] = set()

    async def act(self, n: int) -> None:
        """One action of trader ``n``: a cancel of one of its resting orders, or a new order."""
        trader = self.traders[n]
        if trader.resting and self.rng.random() < self.cancel_ratio:
            order_id = self.rng.choice(list(trader.resting))
            trader.resting.pop(order_id, None)
            await self._request(Trace("cancel", n, time.perf_counter(), order_id=order_id), trader)
            return
        kind, body = order_body(self.rng, self.symbols, self.cross_ratio)
        if trader.window is not None:
            # a lost event must not stop the trader: after 10 s it goes on, one more in flight
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(trader.window.acquire(), 10)
        await self._request(Trace(kind, n, time.perf_counter()), trader, body)

    async def _request(self, trace: Trace, trader: Trader, body: dict[str, Any] | None = None) -> None:
        self.rec.traces.append(trace)
        try:
            if body is None:
                r = await self.http.delete(f"/orders/{trace.order_id}", headers=trader.headers)
            else:
                r = await self.http.post("/orders", json=body, headers=trader.headers)
        except httpx.HTTPError as exc:
            trace.answered, trace.status = time.perf_counter(), -1
            self.rec.ws_errors.append(f"http: {exc!r}")
            self._release(trader, body)
            return
        trace.answered, trace.status = time.perf_counter(), r.status_code
        if body is None:
            return
        if r.status_code in (200, 201, 202):
            trace.order_id = r.json()["id"]
            seen = self.rec.seen.get(trace.order_id)
            if trader.window is not None:
                if seen is not None and seen.accepted:
                    trader.window.release()  # its event came before its answer
                else:
                    self.rec.waiting[trace.order_id] = trader
        else:
            self._release(trader, body)

    @staticmethod
    def _release(trader: Trader, body: dict[str, Any] | None) -> None:
        if body is not None and trader.window is not None:
            trader.window.release()

    def _spawn(self, n: int) -> None:
        task = asyncio.get_running_loop().create_task(self.act(n))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def open_loop(self, rate: float, duration: float) -> None:
        """Offered load: action i starts at i / rate, whatever the earlier ones are doing."""
        start = time.perf_counter()
        i = 0
        while (due := start + i / rate) < start + duration:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self._spawn(i % len(self.traders))
            i += 1
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=30)

    async def closed_loop(self, duration: float, window: int) -> None:
        """Saturation: every trader acts as soon as it may (at most ``window`` unsettled orders each)."""
        for t in self.traders:
            t.window = asyncio.Semaphore(window)
        end = time.perf_counter() + duration

        async def trader_loop(n: int) -> None:
            while time.perf_counter() < end:
                await self.act(n)

        try:
            await asyncio.gather(*(trader_loop(n) for n in range(len(self.traders))))
        finally:
            for t in self.traders:
                t.window = None
            self.rec.waiting.clear()

    async def drain(self, timeout: float, stall: float = 20) -> int:
        """Wait until every accepted order of the phase has its ORDER_ACCEPTED (the next phase starts
        on a quiet stack), at most ``timeout`` s and while they keep coming (none for ``stall`` s:
        give up). Returns how many are still missing."""
        start = last_progress = time.perf_counter()
        last_missing, said = -1, start
        while True:
            missing = sum(
                1
                for t in self.rec.traces
                if t.kind != "cancel" and t.order_id and not self.rec.seen.get(t.order_id, Seen()).accepted
            )
            now = time.perf_counter()
            if missing != last_missing:
                last_missing, last_progress = missing, now
            if not missing or now - start > timeout or now - last_progress > stall:
                return missing
            if now - said > 10:
                print(f"  draining: {missing} orders not settled yet", flush=True)
                said = now
            await asyncio.sleep(0.1)


async def wait_accepted(rec: Recorder, order_id: str, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if rec.seen.get(order_id, Seen()).accepted:
            return True
        await asyncio.sleep(0.02)
    return False
