"""`DEMO=1 python -m local_stack` (what `DEMO=1 make run` runs): the demo traders make a living market
through the public API alone: every seeded stock trades, its price moves, its book has both sides,
candles form, the money rules hold; the traders stop with the stack and come back, with the same
accounts, on a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_stack.stack import SEED
from local_stack.template import ROOT
from tests.e2e.conftest import wait_until
from tests.e2e.test_restart import StackProcess
from tools.conservation import loader as conservation
from tools.conservation import rules as conservation_rules

SYMBOLS = [s["symbol"] for s in json.loads(SEED.read_text())["stocks"]]
DEMO = {"DEMO": "1", "DEMO_TRADERS": "12", "DEMO_RATE": "20", "DEMO_SEED": "11"}


@pytest.fixture
def demo_stack(tmp_path: Path) -> Iterator[StackProcess]:
    s = StackProcess(tmp_path / "state", tmp_path / "stack.log")
    yield s
    s.close()


def market(http: httpx.Client) -> dict[str, dict[str, Any]]:
    """Per seeded stock: its trades (newest first), book and 1m candles."""
    out = {}
    for symbol in SYMBOLS:
        out[symbol] = {
            "trades": http.get(f"/api/stocks/{symbol}/trades", params={"limit": 500}).json()["trades"],
            "book": http.get(f"/api/stocks/{symbol}/orderbook").json(),
            "candles": http.get(f"/api/stocks/{symbol}/candles", params={"interval": "1m"}).json()["candles"],
        }
    return out


def lively(http: httpx.Client) -> dict[str, dict[str, Any]] | None:
    """The market once every seeded stock has traded at two prices at least, has bids and asks, and
    has a candle; else None."""
    m = market(http)
    for data in m.values():
        prices = {t["price"] for t in data["trades"]}
        if len(prices) < 2 or not data["book"]["bids"] or not data["book"]["asks"] or not data["candles"]:
            return None
    return m


def test_demo_traders_make_a_living_market_and_stop_with_the_stack(demo_stack: StackProcess) -> None:
    # Given the local stack started with DEMO=1 (12 traders, 20 orders/s, a seed)
    demo_stack.start(**DEMO)
    with httpx.Client(base_url=demo_stack.base, timeout=10) as http:
        wait_until(lambda: "demo market: 12 traders" in demo_stack.log.read_text(), timeout=60, interval=0.5)
        # When they have traded a while (about 20 s here; longer on a loaded machine)
        m = wait_until(lambda: lively(http), timeout=120, interval=2)
        # Then every seeded stock has traded at several prices, with a two-sided book and candles
        for symbol, data in m.items():
            prices = [t["price"] for t in data["trades"]]
            assert len(set(prices)) >= 2, (symbol, prices)
            assert data["book"]["bids"] and data["book"]["asks"], (symbol, data["book"])
            best_bid, best_ask = data["book"]["bids"][0]["price"], data["book"]["asks"][0]["price"]
            assert float(best_bid) < float(best_ask), (symbol, data["book"])  # not crossed
            assert sum(c["volume"] for c in data["candles"]) > 0
        stocks = {s["symbol"]: s for s in http.get("/api/stocks").json()["stocks"]}
        assert all(stocks[s]["last_price"] is not None and stocks[s]["volume"] > 0 for s in SYMBOLS)
        # the money rules hold on the table while they trade (a scan is one request: one snapshot)
        snapshot = conservation.load(demo_stack.moto_endpoint)
        assert conservation_rules.check(snapshot, quiet=False) == []
        # their accounts are their own, made through the API: one per trader (and the admin's)
        accounts = len(snapshot.cash)
        assert accounts >= 12
    # When the stack is stopped (SIGTERM, as a service manager does)
    assert demo_stack.proc is not None
    demo_stack.proc.send_signal(signal.SIGTERM)
    # Then the traders stop first, cleanly, and say what they did
    assert demo_stack.proc.wait(timeout=60) == 0
    log = demo_stack.log.read_text()
    summary = next(line for line in log.splitlines() if line.startswith("demo market stopped:"))
    placed = int(summary.split(":")[1].split()[0])
    assert placed > 50, summary
    assert " 500" not in summary and "error " not in summary, summary  # no server error, no crash
    assert "insufficient_funds" not in summary and "insufficient_shares" not in summary, summary
    assert log.index("demo market stopped:") < log.index("\nstopped")

    # When it starts again on the same state: the traders log in to the accounts they have
    trades_before = {s: len(d["trades"]) for s, d in m.items()}
    demo_stack.start(**DEMO)
    with httpx.Client(base_url=demo_stack.base, timeout=10) as http:
        wait_until(lambda: demo_stack.log.read_text().count("demo market: 12 traders") == 2, timeout=60)
        # Then they trade on (more trades than before the restart)
        wait_until(
            lambda: sum(len(d["trades"]) for d in market(http).values()) > sum(trades_before.values()),
            timeout=60,
            interval=1,
        )
        assert "demo market not started" not in demo_stack.log.read_text()
        assert len(conservation.load(demo_stack.moto_endpoint).cash) == accounts  # no new account
    demo_stack.stop()  # Ctrl-C


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DEMO": "1", "DEMO_TRADERS": "lots"},
            "DEMO_TRADERS='lots': must be a whole number, 3 to 200"
            " (one market maker, one noise and one momentum trader at least)",
        ),
        (
            {"DEMO": "1", "DEMO_RATE": "-5"},
            "DEMO_RATE='-5': must be a number of orders a second above 0, at most 500",
        ),
    ],
)
def test_bad_demo_settings_stop_the_start_with_one_line(env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"local stack not started: {message}"
    assert "Traceback" not in done.stderr
