"""The chaos run's traffic: stocks, funded traders, then a paced random mix of every order type and
time in force, cancels (at once, twice, mid-fill), concurrent client_order_id duplicates, deposits
and grants, from several threads over real HTTP."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.chaos.client import Account, Api, Stats
from tools.chaos.ws import Listener

PLACE_OK = {200, 201}
PLACE_EXPECTED = {200, 201, 409, 422}
CANCEL_EXPECTED = {202, 409}


def cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


@dataclass
class Market:
    symbols: list[str]
    fair: dict[str, int]  # cents, a random walk per stock
    lock: threading.Lock = field(default_factory=threading.Lock)

    def price(self, rng: random.Random, symbol: str) -> int:
        with self.lock:
            self.fair[symbol] = max(500, self.fair[symbol] + rng.choice((-1, 0, 0, 1)) * rng.randint(0, 3))
            return self.fair[symbol]


@dataclass
class Trader:
    account: Account
    listener: Listener | None = None
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=40))  # order ids, newest last
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, order_id: str) -> None:
        with self.lock:
            self.recent.append(order_id)

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.recent) if self.recent else None


class Pacer:
    """At most `rate` actions a second across all threads."""

    def __init__(self, rate: float) -> None:
        self.interval, self.next_at, self.lock = 1.0 / rate, time.monotonic(), threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.next_at = max(self.next_at + self.interval, now)
            delay = self.next_at - now
        if delay > 0:
            time.sleep(delay)


def setup_market(api: Api, admin: Account, stocks: int, rng: random.Random) -> Market:
    symbols: list[str] = []
    fair: dict[str, int] = {}
    while len(symbols) < stocks:
        symbol = "CH" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        reference = rng.choice((2_000, 5_000, 10_000, 25_000))
        r = api.call(
            "list_stock",
            "POST",
            "/admin/stocks",
            admin,
            json={"symbol": symbol, "name": f"Chaos {symbol}", "reference_price": cents(reference)},
        )
        if r is not None and r.status_code == 201:
            symbols.append(symbol)
            fair[symbol] = reference
        elif r is None or r.status_code != 409:
            raise RuntimeError(f"could not list {symbol}: {r.text if r is not None else 'no response'}")
    return Market(symbols, fair)


def setup_traders(
    base: str, stats: Stats, admin: Account, market: Market, n: int, run_id: str, rng: random.Random
) -> list[Trader]:
    seeds = [rng.randrange(10**9) for _ in range(n)]

    def make(i: int) -> Trader:
        api = Api(base, stats)
        try:
            acc = api.register(f"chaos-{run_id}-{i}@example.com")
            r = random.Random(seeds[i])
            deposit(api, admin, acc, r.randint(1, 50) * 10_000)
            if i % 3 != 2:  # every third trader holds no shares at first: buys make it a first-time holder
                for symbol in market.symbols:
                    grant(api, admin, acc, symbol, r.randint(200, 2_000))
            return Trader(acc)
        finally:
            api.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(make, range(n)))


def deposit(api: Api, admin: Account, acc: Account, amount: int) -> None:
    r = api.call(
        "deposit", "POST", f"/admin/users/{acc.user_id}/deposit", admin, json={"amount": cents(amount)}
    )
    if r is not None and r.status_code == 200:
        api.stats.count("deposits")


def grant(api: Api, admin: Account, acc: Account, symbol: str, quantity: int) -> None:
    r = api.call(
        "grant",
        "POST",
        f"/admin/users/{acc.user_id}/grant",
        admin,
        json={"symbol": symbol, "quantity": quantity},
    )
    if r is not None and r.status_code == 200:
        api.stats.count("grants")


class Load:
    def __init__(
        self,
        base: str,
        stats: Stats,
        admin: Account,
        market: Market,
        traders: list[Trader],
        *,
        orders: int,
        rate: float,
        threads: int,
        seed: int,
        deadline: float,
    ) -> None:
        self.base, self.stats, self.admin, self.market, self.traders = base, stats, admin, market, traders
        self.target, self.threads, self.seed, self.deadline = orders, threads, seed, deadline
        self.pacer = Pacer(rate)
        self.placed = 0  # POST /orders sent
        self.lock = threading.Lock()
        self.next_cid = 0

    # ------------------------------------------------------------------ budget
    def _take(self, n: int = 1) -> bool:
        with self.lock:
            if self.placed >= self.target or time.monotonic() > self.deadline:
                return False
            self.placed += n
            return True

    def _cid(self) -> str:
        with self.lock:
            self.next_cid += 1
            return f"chaos-{self.seed}-{self.next_cid}"

    # ------------------------------------------------------------------ orders
    def _body(self, rng: random.Random, symbol: str | None = None) -> dict[str, Any]:
        symbol = symbol or rng.choice(self.market.symbols)
        fair = self.market.price(rng, symbol)
        side = rng.choice(("buy", "sell"))
        roll = rng.random()
        qty = (
            rng.randint(1, 25)
            if roll < 0.93
            else rng.randint(60, 200)
            if roll < 0.99
            else rng.randint(300, 600)
        )
        if rng.random() < 0.1:
            return {"symbol": symbol, "side": side, "type": "market", "quantity": qty}
        tif = rng.choices(("gtc", "day", "ioc", "fok"), weights=(50, 15, 20, 15))[0]
        offset = rng.randint(-8, 3) if side == "buy" else rng.randint(-3, 8)
        price = max(1, fair + offset * max(1, fair // 2_000))
        body = {"symbol": symbol, "side": side, "type": "limit", "quantity": qty, "limit_price": cents(price)}
        body["time_in_force"] = tif
        return body

    def place(self, api: Api, t: Trader, body: dict[str, Any]) -> httpx.Response | None:
        r = api.call("place", "POST", "/orders", t.account, json=body)
        if r is None:
            return None
        if r.status_code in PLACE_OK:
            t.remember(r.json()["id"])
            self.stats.count("orders_created" if r.status_code == 201 else "orders_existing")
        elif r.status_code not in PLACE_EXPECTED:
            self.stats.note("unexpected", f"place {body}: {r.status_code} {r.text[:200]}")
        return r

    def cancel(self, api: Api, t: Trader, order_id: str, action: str = "cancel") -> httpx.Response | None:
        r = api.call(action, "DELETE", f"/orders/{order_id}", t.account)
        if r is not None:
            if r.status_code == 202:
                self.stats.count("cancels_accepted")
            elif r.status_code not in CANCEL_EXPECTED:
                self.stats.note("unexpected", f"cancel {order_id}: {r.status_code} {r.text[:200]}")
        return r

    # ------------------------------------------------------------------ races
    def _together(self, calls: list[Callable[[Api], httpx.Response | None]]) -> list[httpx.Response | None]:
        """Run the calls at once, each on its own connection."""
        apis = [Api(self.base, self.stats) for _ in calls]
        barrier = threading.Barrier(len(calls))
        out: list[httpx.Response | None] = [None] * len(calls)

        def run(i: int) -> None:
            barrier.wait()
            out[i] = calls[i](apis[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for a in apis:
            a.close()
        return out

    def duplicate(self, rng: random.Random, t: Trader, same: bool) -> bool:
        body = {**self._body(rng), "client_order_id": self._cid()}
        bodies = [body] * rng.randint(2, 3)
        if not same:
            other = dict(body, quantity=int(body["quantity"]) + 1)
            bodies = [body, other]
        if not self._take(len(bodies)):
            return False
        rs = self._together([lambda a, b=b: self.place(a, t, b) for b in bodies])  # type: ignore[misc]
        statuses = sorted(r.status_code if r is not None else 0 for r in rs)
        ids = {r.json()["id"] for r in rs if r is not None and r.status_code in PLACE_OK}
        kind = "same" if same else "different"
        self.stats.count(f"duplicates_{kind}")
        if same:
            ok = statuses == [200] * (len(bodies) - 1) + [201] and len(ids) == 1
            # all refused alike (e.g. no liquidity for a market order) is fine too
            ok = ok or (len(set(statuses)) == 1 and statuses[0] in (409, 422))
        else:
            # 422 + 201: the refused one ran before the other existed
            ok = statuses in ([201, 409], [201, 422], [422, 422]) and len(ids) <= 1
        if not ok:
            self.stats.note("unexpected", f"duplicate client_order_id ({kind} parameters) {body}: {statuses}")
            self.stats.count(f"duplicate_violations_{kind}")
        return True

    def double_cancel(self, t: Trader, order_id: str) -> None:
        rs = self._together([lambda a: self.cancel(a, t, order_id, "cancel_twice")] * 2)
        self.stats.count("cancels_twice")
        if any(r is not None and r.status_code not in CANCEL_EXPECTED for r in rs):
            self.stats.count("double_cancel_violations")

    # ------------------------------------------------------------------ the mix
    def step(self, api: Api, rng: random.Random) -> bool:
        t = rng.choice(self.traders)
        roll = rng.random()
        if roll < 0.14:  # cancel one of its recent orders (may be final already: 409)
            oid = t.pick(rng)
            if oid:
                self.cancel(api, t, oid)
            return True
        if roll < 0.19:  # cancel an order mid-fill
            mid = t.listener.mid_fill() if t.listener else []
            oid = rng.choice(mid) if mid else t.pick(rng)
            if oid:
                self.stats.count("cancels_mid_fill")
                self.cancel(api, t, oid, "cancel_mid_fill")
            return True
        if roll < 0.27:
            return self.duplicate(rng, t, same=roll < 0.24)
        if roll < 0.285:
            if rng.random() < 0.5:
                deposit(api, self.admin, t.account, rng.randint(1, 20) * 10_000)
            else:
                grant(api, self.admin, t.account, rng.choice(self.market.symbols), rng.randint(10, 300))
            return True
        if not self._take():
            return False
        body = self._body(rng)
        if rng.random() < 0.2:
            body["client_order_id"] = self._cid()
        r = self.place(api, t, body)
        if r is None or r.status_code not in PLACE_OK:
            return True
        oid = r.json()["id"]
        after = rng.random()
        if after < 0.08:  # cancel right after placing
            self.stats.count("cancels_at_once")
            self.cancel(api, t, oid, "cancel_at_once")
        elif after < 0.12:  # cancel twice, concurrently
            self.double_cancel(t, oid)
        elif after < 0.15:  # cancel, then cancel again
            self.cancel(api, t, oid, "cancel_at_once")
            self.cancel(api, t, oid, "cancel_again")
        return True

    def _worker(self, n: int) -> None:
        rng = random.Random(self.seed * 1_000 + n)
        api = Api(self.base, self.stats)
        try:
            while time.monotonic() < self.deadline:
                self.pacer.wait()
                if not self.step(api, rng):
                    break
        finally:
            api.close()

    def run(self) -> None:
        workers = [
            threading.Thread(target=self._worker, args=(n,), name=f"load-{n}") for n in range(self.threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
