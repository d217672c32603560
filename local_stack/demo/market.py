"""The demo market's threads: accounts set up the way a user's are (register, then the admin's grant of
shares), one thread per trader deciding with strategies.py, a shared pace for all their orders, and
a clean stop with the stack."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local_stack.demo.client import Client, Response, cents, decimal
from local_stack.demo.feed import MarketFeed
from local_stack.demo.settings import DemoSettings
from local_stack.demo.strategies import (
    Account,
    Cancel,
    MakerParams,
    MomentumParams,
    NoiseParams,
    OpenOrder,
    Place,
    Stock,
    affordable,
    market_maker,
    momentum,
    next_fair,
    noise,
)

GRANT_LOTS = {"maker": 60, "noise": 10, "momentum": 10}  # shares granted a stock, in lots
FAIR_STEP_SECONDS = 1.0


class Pacer:
    """At most `rate` grants a second, shared by threads: each grant takes the next free slot, 1/rate
    after the previous one (no burst after an idle spell: slots in the past are not handed out)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = 1.0 / rate, clock
        self.next = clock()
        self.lock = threading.Lock()

    def slot(self) -> float:
        """Reserve the next slot; how long to wait for it."""
        with self.lock:
            now = self.clock()
            slot = max(self.next, now)
            self.next = slot + self.interval
            return slot - now

    def wait(self, stop: threading.Event) -> bool:
        """Wait for a slot; False if the demo is stopping."""
        delay = self.slot()
        return not stop.wait(delay) if delay > 0 else not stop.is_set()


class FairValues:
    """A seeded random walk per stock, one step a second, shared by the market makers."""

    def __init__(self, stocks: dict[str, Stock], seed: int) -> None:
        self.stocks = stocks
        self.values = {s: stock.last or stock.reference for s, stock in stocks.items()}
        self.rngs = {s: random.Random(f"{seed}:fair:{s}") for s in stocks}
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def get(self, stock: Stock) -> int:
        with self.lock:
            steps = int((time.monotonic() - self.at) / FAIR_STEP_SECONDS)
            if steps:
                self.at += steps * FAIR_STEP_SECONDS
                for symbol, value in self.values.items():
                    for _ in range(min(steps, 10)):
                        value = next_fair(self.rngs[symbol], value, self.stocks[symbol])
                    self.values[symbol] = value
            return self.values[stock.symbol]


class Trader(threading.Thread):
    def __init__(self, kind: str, index: int, market: DemoMarket) -> None:
        super().__init__(name=f"demo-{kind}-{index:02d}", daemon=True)
        self.kind, self.index, self.market = kind, index, market
        self.client = Client(market.api_url)
        self.rng = random.Random(f"{market.settings.seed}:{kind}:{index}")

    @property
    def email(self) -> str:
        return f"demo-{self.kind}-{self.index:02d}@example.com"

    def run(self) -> None:
        m = self.market
        # spread the first turns over a think time, then one turn every think time (jittered)
        m.stop.wait(self.rng.random() * m.think[self.kind])
        while not m.stop.is_set():
            started = time.monotonic()
            try:
                self.take_turn()
            except Exception as exc:  # the stack stopping under us, or a surprise: count it, go on
                m.count(f"error {type(exc).__name__}")
            m.turn_taken(time.monotonic() - started)
            m.stop.wait(m.think[self.kind] * self.rng.uniform(0.5, 1.5))
        self.client.close()

    def take_turn(self) -> None:
        m = self.market
        me = self.account()
        if me is None:
            return
        stocks = m.feed.view()
        if self.kind == "maker":
            params = MakerParams(spread_ticks=2 + self.index % 3)
            actions = [a for s in stocks.values() for a in market_maker(m.fair.get(s), s, me, params)]
        elif self.kind == "noise":
            actions = noise(self.rng, list(stocks.values()), me, NoiseParams())
        else:
            actions = momentum(list(stocks.values()), me, MomentumParams())
        for action in affordable(actions, me, stocks):
            if isinstance(action, Cancel):
                r = self.client.request("DELETE", f"/orders/{action.order_id}")
                m.record("cancel", r)
            elif m.pacer.wait(m.stop):
                m.record("place", self.client.request("POST", "/orders", order_body(action)))

    def account(self) -> Account | None:
        """Its available cash and shares and its open orders, read as a user would."""
        portfolio = self.client.request("GET", "/portfolio")
        orders = self.client.request("GET", "/orders?status=open&limit=100")
        if portfolio.status != 200 or orders.status != 200:
            self.market.record("read", portfolio if portfolio.status != 200 else orders)
            return None
        now = datetime.now().astimezone()
        return Account(
            cash=cents(portfolio.body["cash"]["available"]) or 0,
            shares={h["symbol"]: int(h["available_quantity"]) for h in portfolio.body["holdings"]},
            open_orders=tuple(
                OpenOrder(
                    o["id"],
                    o["symbol"],
                    o["side"],
                    cents(o["limit_price"]),
                    int(o["remaining_quantity"]),
                    (now - datetime.fromisoformat(o["created_at"].replace("Z", "+00:00"))).total_seconds(),
                )
                for o in orders.body["orders"]
                if not o.get("cancel_requested")
            ),
        )


def order_body(place: Place) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": place.symbol, "side": place.side, "quantity": place.quantity}
    if place.price is None:
        body["type"] = "market"
    else:
        body.update(type="limit", limit_price=decimal(place.price))
    return body


class DemoMarket:
    """`start()` sets the accounts up and starts the traders (in a thread of its own, so that the
    stack's banner is not held up); `stop()` ends them."""

    def __init__(self, settings: DemoSettings, api_url: str, ws_url: str, admin: tuple[str, str]) -> None:
        self.settings, self.api_url, self.ws_url, self.admin = settings, api_url, ws_url, admin
        self.stop = threading.Event()
        self.kinds = settings.kinds
        # one pace for all their orders (DEMO_RATE); each kind's turns are spaced so that it asks for
        # about its share of the rate (a maker's turn requotes a few prices, a noise trader's places two
        # orders, a momentum trader's at most one): the makers keep the book deep, the others trade
        self.pacer = Pacer(settings.rate)
        shares = {"maker": 0.3, "noise": 0.5, "momentum": 0.2}
        per_turn = {"maker": 3, "noise": NoiseParams().orders_per_turn, "momentum": 1}
        self.think = {
            k: max(0.2, n * per_turn[k] / (settings.rate * shares[k])) for k, n in self.kinds.items()
        }
        self.traders: list[Trader] = []
        self.stats: Counter[str] = Counter()
        self.turns, self.turn_seconds = 0, 0.0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._start, name="demo-start", daemon=True)

    def start(self) -> DemoMarket:
        self.thread.start()
        return self

    def count(self, what: str) -> None:
        with self.lock:
            self.stats[what] += 1

    def turn_taken(self, seconds: float) -> None:
        with self.lock:
            self.turns += 1
            self.turn_seconds += seconds

    def record(self, action: str, r: Response) -> None:
        self.count(f"{action} {r.status}{' ' + r.code if r.code else ''}")

    def _start(self) -> None:
        try:
            self._set_up()
        except Exception as exc:
            if not self.stop.is_set():
                print(f"demo market not started: {exc}", flush=True)
            return
        k = self.kinds
        print(
            f"demo market: {self.settings.traders} traders ({k['maker']} market makers, {k['noise']} noise, "
            f"{k['momentum']} momentum) on {', '.join(self.symbols)}, {self.settings.rate:g} orders/s, "
            f"seed {self.settings.seed}",
            flush=True,
        )

    def _set_up(self) -> None:
        admin = Client(self.api_url)
        r = admin.login(*self.admin)
        if r.status != 200:
            raise RuntimeError(f"the admin's login failed ({r.status} {r.code})")
        listed = admin.request("GET", "/stocks").body["stocks"]
        if not listed:
            raise RuntimeError("no stock is listed")
        stocks = [
            Stock(
                s["symbol"],
                cents(s["tick_size"]) or 1,
                cents(s["reference_price"]) or 1,
                cents(s["last_price"]),
                cents(s["best_bid"]),
                cents(s["best_ask"]),
            )
            for s in listed
        ]
        self.symbols = [s.symbol for s in stocks]
        self.fair = FairValues({s.symbol: s for s in stocks}, self.settings.seed)
        self.feed = MarketFeed(self.ws_url, stocks, self.stop)
        self.feed.start()
        for kind, n in self.kinds.items():
            for index in range(n):
                if self.stop.is_set():
                    return
                trader = Trader(kind, index, self)
                self._open_account(admin, trader, stocks)
                self.traders.append(trader)
        self.feed.subscribed.wait(10)
        for trader in self.traders:
            trader.start()
        admin.close()

    def _open_account(self, admin: Client, trader: Trader, stocks: list[Stock]) -> None:
        """Register (or log in: the account is kept across restarts), then top its shares up to the
        grant with the admin's grant endpoint, as an operator would for a real user."""
        r = trader.client.register_or_login(trader.email, f"Demo {trader.kind} {trader.index}")
        if r.status not in (200, 201):
            raise RuntimeError(f"{trader.email}: register/login failed ({r.status} {r.code})")
        portfolio = trader.client.request("GET", "/portfolio").body
        holdings = {h["symbol"]: int(h["quantity"]) for h in portfolio["holdings"]}
        for stock in stocks:
            want = GRANT_LOTS[trader.kind] * stock.lot
            have = holdings.get(stock.symbol, 0)
            if have < want // 2:
                body = {"symbol": stock.symbol, "quantity": want - have}
                g = admin.request("POST", f"/admin/users/{trader.client.user_id}/grant", body)
                if g.status != 200:
                    raise RuntimeError(f"grant of {stock.symbol} to {trader.email}: {g.status} {g.code}")

    def shutdown(self, timeout: float = 10) -> str:
        """Stop every trader (each finishes the request it is in); a one-line summary."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in [self.thread, *self.traders, getattr(self, "feed", None)]:
            if thread is not None and thread.is_alive():
                thread.join(max(0.1, deadline - time.monotonic()))
        with self.lock:
            placed = sum(n for k, n in self.stats.items() if k.startswith("place 20"))
            cancels = sum(n for k, n in self.stats.items() if k.startswith("cancel 202"))
            other = {k: n for k, n in self.stats.items() if not k.startswith(("place 20", "cancel 202"))}
        trades = getattr(getattr(self, "feed", None), "trade_count", 0)
        extra = (", " + ", ".join(f"{k}: {n}" for k, n in sorted(other.items()))) if other else ""
        turns = f"{self.turns} turns of {self.turn_seconds / max(self.turns, 1) * 1000:.0f} ms on average"
        return (
            f"demo market stopped: {placed} orders placed, {cancels} cancels, {trades} trades seen, "
            f"{turns}{extra}"
        )
