"""Durable local state: `python -m local_stack` with a state folder, stopped (cleanly, or by kill -9
mid-load) and started again, keeps users, sessions, balances, orders, trades and the book."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from local_stack.moto_process import MotoProcess
from local_stack.stack import free_port
from local_stack.state_dir import StateDir
from local_stack.template import ROOT
from tests.conftest import bearer
from tests.e2e.conftest import grant, place_order, settled, wait_until
from tools.conservation import loader as conservation
from tools.conservation import rules as conservation_rules

ADMIN = {"email": "restart-admin@example.com", "password": "restart-admin-password"}
PASSWORD = "correct horse battery"
CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


class StackProcess:
    """`python -m local_stack` (what `make run` runs) on ports of its own, with a state folder."""

    def __init__(self, state: Path, log: Path) -> None:
        self.state, self.log = state, log
        self.api_port, self.ws_port = free_port(), free_port()
        self.moto_port = 0  # a fresh one per start (an orphaned moto may still hold the last)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def start(self, **env: str) -> StackProcess:
        self.moto_port = free_port()
        environ = {
            **os.environ,
            "API_PORT": str(self.api_port),
            "WS_PORT": str(self.ws_port),
            "MOTO_PORT": str(self.moto_port),
            "LOCAL_STATE_DIR": str(self.state),
            "LOCAL_SCHEDULE_SECONDS": "3600",
            "ADMIN_EMAIL": ADMIN["email"],
            "ADMIN_PASSWORD": ADMIN["password"],
            **env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # a process group of its own: kill_all can power it off
                [sys.executable, "-m", "local_stack"],
                cwd=ROOT,
                env=environ,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        wait_until(self._healthy, timeout=90, interval=0.2)
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the stack exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Ctrl-C: a clean stop."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, self.log.read_text()[-3000:]

    def kill(self) -> None:
        """kill -9 of the stack's process; its moto process sees its stdin close, saves and exits
        (the next start waits for it: restarting at once, as a user would, loses nothing)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def kill_all(self) -> None:
        """kill -9 of the stack and its moto process at once (a power cut): no last save."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        StateDir(self.state).lock(wait_s=60).close()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            StateDir(self.state).lock(wait_s=60).close()


@pytest.fixture
def stack_process(tmp_path: Path) -> Iterator[StackProcess]:
    s = StackProcess(tmp_path / "state", tmp_path / "stack.log")
    yield s
    s.close()


def _login(http: httpx.Client, email: str, password: str) -> dict[str, Any]:
    r = http.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {**r.json(), "headers": bearer(r.json()["access_token"])}


def _register(http: httpx.Client, name: str) -> dict[str, Any]:
    email = f"{name}-{random.randrange(10**9)}@example.com"
    r = http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "display_name": name})
    assert r.status_code == 201, r.text
    return {**r.json(), "email": email, "headers": bearer(r.json()["access_token"])}


def _list_stock(http: httpx.Client, admin: dict[str, Any], symbol: str) -> None:
    r = http.post(
        "/api/admin/stocks",
        headers=admin["headers"],
        json={"symbol": symbol, "name": symbol, "reference_price": "100.00"},
    )
    assert r.status_code == 201, r.text


def _view(http: httpx.Client, users: list[dict[str, Any]], symbol: str) -> dict[str, Any]:
    """What a client can see: every user's portfolio and orders, the stock's trades and book."""
    seen: dict[str, Any] = {"users": {}}
    for u in users:
        portfolio = http.get("/api/portfolio", headers=u["headers"])
        orders = http.get("/api/orders?status=all&limit=500", headers=u["headers"])
        me = http.get("/api/auth/me", headers=u["headers"])
        assert portfolio.status_code == orders.status_code == me.status_code == 200
        body = portfolio.json()
        for holding in body["holdings"]:  # market data of the moment, not state
            holding.pop("last_price", None)
        seen["users"][u["user"]["id"]] = {
            "me": me.json(),
            "portfolio": body,
            "orders": orders.json()["orders"],
        }
    seen["trades"] = http.get(f"/api/stocks/{symbol}/trades?limit=500").json()["trades"]
    book = http.get(f"/api/stocks/{symbol}/orderbook?depth=100").json()
    seen["book"] = {"bids": book["bids"], "asks": book["asks"], "sequence": book["sequence"]}
    return seen


def test_a_clean_restart_keeps_users_sessions_money_orders_and_book(
    stack_process: StackProcess,
) -> None:
    # Given a market with a trade, a resting bid and a resting ask
    stack_process.start()
    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        admin = _login(http, ADMIN["email"], ADMIN["password"])
        _list_stock(http, admin, "DURA")
        buyer, seller = _register(http, "buyer"), _register(http, "seller")
        grant(http, admin["access_token"], seller, "DURA", 50)
        ask = place_order(http, seller, "DURA", "sell", 10, "100.00").json()
        settled(http, seller, ask["id"])
        taker = place_order(http, buyer, "DURA", "buy", 4, "101.00").json()
        assert settled(http, buyer, taker["id"])["status"] == "filled"
        bid = place_order(http, buyer, "DURA", "buy", 3, "90.00").json()
        settled(http, buyer, bid["id"])
        before = _view(http, [buyer, seller, admin], "DURA")
        refresh_cookies = dict(http.cookies)
        assert len(before["trades"]) == 1 and before["book"]["bids"] and before["book"]["asks"]

    # When the stack stops cleanly and starts again on the same state folder
    stack_process.stop()
    stack_process.start()

    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        # Then the same access tokens still work and everything reads back the same
        after = _view(http, [buyer, seller, admin], "DURA")
        assert after == before
        # the refresh cookie from before the restart rotates (its family, its signing key survived)
        http.cookies.update(refresh_cookies)
        r = http.post("/api/auth/refresh", headers={"X-CSRF-Token": refresh_cookies["csrf_token"]})
        assert r.status_code == 200, r.text
        # passwords too, and the admin was not re-seeded over the old one
        assert _login(http, buyer["email"], PASSWORD)["user"]["id"] == buyer["user"]["id"]
        assert _login(http, ADMIN["email"], ADMIN["password"])["user"]["id"] == admin["user"]["id"]
        # and the restored book is live: a new sell meets the old resting bid at its price
        hit = place_order(http, seller, "DURA", "sell", 3, "90.00").json()
        assert settled(http, seller, hit["id"])["status"] == "filled"
        assert http.get(f"/api/orders/{bid['id']}", headers=buyer["headers"]).json()["status"] == "filled"
        trades = http.get("/api/stocks/DURA/trades").json()["trades"]
        assert [(t["price"], t["quantity"]) for t in trades] == [("90.00", 3), ("100.00", 4)]


def _load(http: httpx.Client, users: list[dict[str, Any]], symbols: list[str], stop: threading.Event) -> None:
    rng = random.Random(threading.get_ident())
    while not stop.wait(0.05):  # about what the matcher keeps up with: a backlog, not a flood
        user, symbol = rng.choice(users), rng.choice(symbols)
        try:
            if rng.random() < 0.2:
                orders = http.get("/api/orders?status=open&limit=20", headers=user["headers"]).json()[
                    "orders"
                ]
                if orders:
                    http.delete(f"/api/orders/{rng.choice(orders)['id']}", headers=user["headers"])
                continue
            side = rng.choice(["buy", "sell"])
            price = f"{rng.randint(95, 105)}.00"
            if rng.random() < 0.15:
                place_order(http, user, symbol, side, rng.randint(1, 5))  # market
            else:
                tif = rng.choice(["gtc", "gtc", "day", "ioc", "fok"])
                place_order(http, user, symbol, side, rng.randint(1, 8), price, time_in_force=tif)
        except (httpx.HTTPError, ValueError, KeyError):
            if stop.is_set():
                return
            time.sleep(0.05)  # the stack is gone: the kill came


def _totals(http: httpx.Client, users: list[dict[str, Any]], symbols: list[str]) -> dict[str, int]:
    totals = {"cash": 0, **dict.fromkeys(symbols, 0)}
    for u in users:
        p = http.get("/api/portfolio", headers=u["headers"]).json()
        assert p["cash"]["total"] == _money_add(p["cash"]["available"], p["cash"]["reserved"])
        totals["cash"] += _cents(p["cash"]["total"])
        for h in p["holdings"]:
            assert h["quantity"] == h["available_quantity"] + h["reserved_quantity"]
            assert min(h["available_quantity"], h["reserved_quantity"]) >= 0
            totals[h["symbol"]] += h["quantity"]
        assert min(_cents(p["cash"]["available"]), _cents(p["cash"]["reserved"])) >= 0
    return totals


def _cents(text: str) -> int:
    units, _, cents = text.partition(".")
    return int(units) * 100 + (int(cents) if not units.startswith("-") else -int(cents))


def _money_add(a: str, b: str) -> str:
    total = _cents(a) + _cents(b)
    return f"{total // 100}.{total % 100:02d}"


def _open_orders(http: httpx.Client, user: dict[str, Any]) -> list[dict[str, Any]]:
    return list(http.get("/api/orders?status=open&limit=500", headers=user["headers"]).json()["orders"])


@pytest.mark.parametrize("kill", ["stack", "stack and moto"])
def test_kill_9_mid_load_then_restart_loses_no_money_and_leaves_nothing_pending(
    stack_process: StackProcess, kill: str
) -> None:
    """`stack`: the moto process saves at once (nothing committed is lost); `stack and moto`: the
    state is the last periodic save, an older instant, and must be just as consistent."""
    # Given six traders with cash and shares of two stocks
    stack_process.start()
    symbols = ["KILA", "KILB"]
    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        admin = _login(http, ADMIN["email"], ADMIN["password"])
        for symbol in symbols:
            _list_stock(http, admin, symbol)
        users = [_register(http, f"t{i}") for i in range(6)]
        for u in users:
            for symbol in symbols:
                grant(http, admin["access_token"], u, symbol, 100)
        start_totals = _totals(http, users, symbols)

    # When they trade from four threads and the stack is killed (-9) in the middle of it
    stop = threading.Event()
    clients = [httpx.Client(base_url=stack_process.base, timeout=5) for _ in range(4)]
    threads = [threading.Thread(target=_load, args=(c, users, symbols, stop), daemon=True) for c in clients]
    for t in threads:
        t.start()
    time.sleep(6)
    if kill == "stack":
        stack_process.kill()
    else:
        stack_process.kill_all()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    for c in clients:
        c.close()

    # And it starts again on the state folder the kill left
    stack_process.start()
    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        # Then once it is quiet nothing is pending
        wait_until(
            lambda: all(o["status"] != "pending" for u in users for o in _open_orders(http, u)),
            timeout=60,
            interval=0.5,
        )
        orders = {u["user"]["id"]: _open_orders(http, u) for u in users}
        placed = sum(
            len(http.get("/api/orders?status=all&limit=500", headers=u["headers"]).json()["orders"])
            for u in users
        )
        trades = {s: http.get(f"/api/stocks/{s}/trades?limit=500").json()["trades"] for s in symbols}
        assert placed > 20, "the load placed too few orders before the kill to prove anything"
        assert sum(map(len, trades.values())) > 0
        # and no cash or share was made or lost
        assert _totals(http, users, symbols) == start_totals
        # and each account's reservations are those of its open orders
        for u in users:
            p = http.get("/api/portfolio", headers=u["headers"]).json()
            mine = orders[u["user"]["id"]]
            assert _cents(p["cash"]["reserved"]) == sum(_cents(o["reserved_cash"]) for o in mine)
            for h in p["holdings"]:
                assert h["reserved_quantity"] == sum(
                    o["reserved_quantity"] for o in mine if o["symbol"] == h["symbol"]
                )
        # and the book is the open orders, not crossed
        for symbol in symbols:
            book = http.get(f"/api/stocks/{symbol}/orderbook?depth=100").json()
            resting = [o for mine in orders.values() for o in mine if o["symbol"] == symbol]
            for side, levels in (("buy", book["bids"]), ("sell", book["asks"])):
                expected: dict[str, int] = {}
                for o in resting:
                    if o["side"] == side:
                        expected[o["limit_price"]] = (
                            expected.get(o["limit_price"], 0) + o["remaining_quantity"]
                        )
                assert {lv["price"]: lv["quantity"] for lv in levels} == expected, (symbol, side)
            if book["bids"] and book["asks"]:
                assert _cents(book["bids"][0]["price"]) < _cents(book["asks"][0]["price"])
    # and the conservation checker, reading the stored state itself, finds nothing wrong
    snapshot = conservation.load(stack_process.moto_endpoint)
    assert len(snapshot.orders) == placed
    assert [str(v) for v in conservation_rules.check(snapshot)] == []


class _LostSend:
    """An SQS client whose SendMessage never arrives: the api died between reservation and send."""

    def send_message(self, **_: Any) -> None:
        raise ConnectionError("the process died before SendMessage")


def test_an_order_whose_message_was_lost_before_a_restart_is_matched_after_it(
    stack_process: StackProcess, tmp_path: Path
) -> None:
    from exchange.adapters.exchange_store import ExchangeStore
    from exchange.adapters.orders_queue import OrdersQueue
    from exchange.usecases.orders import OrderRequest, Orders

    # Given a resting ask and a buyer, and a stack that stopped
    stack_process.start()
    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        admin = _login(http, ADMIN["email"], ADMIN["password"])
        _list_stock(http, admin, "LOST")
        buyer, seller = _register(http, "buyer"), _register(http, "seller")
        grant(http, admin["access_token"], seller, "LOST", 5)
        settled(http, seller, place_order(http, seller, "LOST", "sell", 5, "100.00").json()["id"])
    stack_process.stop()
    # and, while it was down, a buy order reserved and stored whose SendMessage was lost
    port = free_port()
    moto = MotoProcess(port, ROOT, StateDir(stack_process.state))
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **CREDS)
    orders = Orders(ExchangeStore("ExchangeTable", ddb), OrdersQueue("lost", client=_LostSend()))
    request = OrderRequest("LOST", "buy", "limit", 5, 100_00, "gtc", None)
    order, _ = orders.place(buyer["user"]["id"], request)  # the api logs it, answers 201
    assert order["status"] == "pending"
    moto.stop()

    # When the stack starts again
    stack_process.start()

    # Then that order is matched at once, not after the sweep's grace
    with httpx.Client(base_url=stack_process.base, timeout=10) as http:
        mine = http.get("/api/orders?status=all", headers=buyer["headers"]).json()["orders"]
        assert len(mine) == 1
        assert settled(http, buyer, mine[0]["id"])["status"] == "filled"
        p = http.get("/api/portfolio", headers=buyer["headers"]).json()
        assert p["cash"] == {"available": "99500.00", "reserved": "0.00", "total": "99500.00"}
