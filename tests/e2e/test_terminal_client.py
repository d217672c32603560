"""The terminal client (tools/terminal) as a user runs it: subprocesses against the local stack over
real HTTP and WebSocket — register, place a crossing pair, orders, portfolio, book, errors, and
``watch`` rendering a trade that happens while it runs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from local_stack.stack import LocalStack
from tests.e2e.conftest import grant

PASSWORD = "correct horse battery"


class Terminal:
    """One user's shell: their own config directory (so their own session file)."""

    def __init__(self, stack: LocalStack, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(home),
            "EXCHANGE_URL": stack.api_url,  # with its /api: the client takes either
            "EXCHANGE_WS_URL": stack.ws_url,
            "EXCHANGE_PASSWORD": PASSWORD,
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
        }

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tools.terminal", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True, timeout=60)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def _email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def test_register_trade_and_watch_from_the_terminal(
    stack: LocalStack, http: httpx.Client, admin_token: str, new_symbol: Any, tmp_path: Path
) -> None:
    # Given a stock and two people at their shells, registered through the client
    symbol = new_symbol(reference_price="10.00")
    seller, buyer = Terminal(stack, tmp_path / "seller"), Terminal(stack, tmp_path / "buyer")
    seller_email, buyer_email = _email("tseller"), _email("tbuyer")
    assert "logged in as" in seller.ok("register", seller_email, "--name", "seller")
    assert "logged in as" in buyer.ok("register", buyer_email)
    session = buyer.home / "exchange-terminal" / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    seller_id = http.post("/api/auth/login", json={"email": seller_email, "password": PASSWORD}).json()
    grant(http, admin_token, {"user": seller_id["user"]}, symbol, 5)

    # And one watching the stock
    watcher = buyer.popen("watch", symbol, "--seconds", "12")
    assert watcher.stdout is not None
    first = watcher.stdout.readline()
    assert f"watching {symbol}" in first, (first, watcher.stderr.read() if watcher.stderr else "")

    # When they place a crossing pair
    placed = seller.ok("place", "sell", symbol, "5", "10.00")
    assert f"sell 5 {symbol} limit @ 10.00" in placed
    assert "10.00" in seller.ok("book", symbol)
    bought = buyer.ok("place", "buy", symbol.lower(), "5", "10.00")
    assert f"buy 5 {symbol} limit @ 10.00" in bought

    # Then the watch rendered the trade (a line as it came, then the tape)
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert "trade 5 @ 10.00 (buy aggressor)" in out
    assert f"{symbol} tape" in out

    # And the buyer's orders and portfolio show it
    deadline = time.monotonic() + 15
    while "filled" not in (orders := buyer.ok("orders")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "filled" in orders and symbol in orders
    portfolio = buyer.ok("portfolio")
    assert symbol in portfolio and "99950.00 total" in portfolio  # 100000.00 - 5 x 10.00
    # And the book is empty again
    assert "-" in buyer.ok("book", symbol)

    # And the JSON view is the API's body
    assert '"holdings"' in buyer.ok("--json", "portfolio")


def test_errors_print_the_envelope_message_and_exit_non_zero(stack: LocalStack, tmp_path: Path) -> None:
    shell = Terminal(stack, tmp_path)
    # Not logged in
    done = shell.run("orders")
    assert done.returncode == 1 and "not logged in" in done.stderr
    # An API refusal: its envelope's message
    shell.ok("register", _email("terr"))
    done = shell.run("cancel", "01NOSUCHORDER0000000000000")
    assert done.returncode == 1 and done.stderr.startswith("error: ")
    done = shell.run("book", "NOSUCHQ")
    assert done.returncode == 1 and "NOSUCHQ" in done.stderr
    # Bad arguments: argparse's 2
    assert shell.run("place", "hold", "ACME", "1").returncode == 2
    # Nothing listening: 3
    done = shell.run("--url", "http://127.0.0.1:9", "stocks")
    assert done.returncode == 3 and "cannot reach" in done.stderr
