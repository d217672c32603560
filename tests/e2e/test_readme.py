"""The README's first trade and its WebSocket hint, run exactly as written, against `python -m local_stack`
(what `make run` runs: the local default admin, a fresh market, ports of its own).

The code blocks are read from README.md by their `<!-- readme-test: NAME ... -->` markers, so these
tests always run what the README says. The first trade runs twice (a user pastes it twice) and must
print, both times, the output the README shows; its real outcome (orders, fills, balances, the last
price) is then read back over HTTP with the tokens the snippet made.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.conftest import bearer
from tools.chaos.stack import Endpoints, StackProcess

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# what the test appends to the first trade (after it, as written) to read its outcome back over HTTP
REPORT = '\nprintf "%s\\n" "$ALICE" "$BOB" "$ALICE_ID" "$SELL" "$BUY" > "$README_TEST_REPORT"\n'
ANSI = re.compile(r"\x1b(\[[0-9;]*[A-Za-z]|[78])")


def readme_block(name: str) -> str:
    """The fenced code blocks right after `<!-- readme-test: NAME ... -->` in README.md, joined in order."""
    blocks = re.findall(
        rf"^<!-- readme-test: {re.escape(name)}(?: [^\n]*)? -->\n```[a-z]*\n(.*?)^```$",
        README.read_text(),
        flags=re.M | re.S,
    )
    assert blocks, f"README.md has no code block marked readme-test: {name}"
    return "".join(blocks)


def test_the_readme_blocks_are_found() -> None:
    assert readme_block("first-trade").startswith("API=http://127.0.0.1:${API_PORT:-8000}/api\n")
    assert readme_block("first-trade").count("\n") > 30  # the helpers, the orders, the wait
    assert readme_block("first-trade-output").startswith("granted:")
    assert readme_block("websocket").startswith(".venv/bin/python -m websockets ")


def start_stack(log: Path, **env: str) -> tuple[StackProcess, Endpoints]:
    """`python -m local_stack` as `make run` starts it on a fresh machine: the local default admin,
    nothing kept (LOCAL_STATE_DIR empty), ports of its own; `env` adds LOCAL_FAULTS and the like.
    A port taken by another process between choosing it and binding it: one more try, new ports."""
    for attempt in (1, 2):
        stack = StackProcess(
            faults=env.get("LOCAL_FAULTS", ""),
            faults_seed=0,
            schedule_seconds=3600,
            pending_grace_seconds=120,
            log_path=log.with_suffix(f".{attempt}.log"),
            extra_env={"LOCAL_STATE_DIR": "", **{k: v for k, v in env.items() if k != "LOCAL_FAULTS"}},
        )
        try:
            return stack, stack.start()
        except RuntimeError:
            printed = stack.log_path.read_text()
            if attempt == 2 or "did not start" not in printed:
                raise AssertionError(f"the local stack did not start: {printed[-3000:]}") from None
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    stack, endpoints = start_stack(tmp_path_factory.mktemp("make-run") / "stack")
    yield endpoints
    stack.stop()


def port(url: str) -> str:
    return url.rsplit(":", 1)[1].split("/")[0]


def run_first_trade(endpoints: Endpoints, tmp: Path) -> tuple[str, dict[str, str]]:
    """The README's first-trade blocks in bash, as a user pastes them; its stdout and its variables."""
    report = tmp / f"report-{time.monotonic_ns()}"
    env = {**os.environ, "API_PORT": port(endpoints.api), "README_TEST_REPORT": str(report)}
    done = subprocess.run(
        ["bash", "-c", readme_block("first-trade") + REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "", (done.returncode, done.stderr, done.stdout)
    names = ["alice_token", "bob_token", "alice_id", "sell_id", "buy_id"]
    return done.stdout, dict(zip(names, report.read_text().splitlines(), strict=True))


def assert_traded(http: httpx.Client, v: dict[str, str], volume_before: int) -> set[str]:
    """What the run did, read back over HTTP with its tokens; the two users' ids."""
    alice, bob = bearer(v["alice_token"]), bearer(v["bob_token"])
    me_alice, me_bob = http.get("/auth/me", headers=alice).json(), http.get("/auth/me", headers=bob).json()
    assert me_alice["id"] == v["alice_id"] and me_alice["role"] == me_bob["role"] == "trader"

    # both orders are filled against each other at the resting sell's price
    sell = http.get(f"/orders/{v['sell_id']}", headers=alice).json()
    buy = http.get(f"/orders/{v['buy_id']}", headers=bob).json()
    for order, side, liquidity in ((sell, "sell", "maker"), (buy, "buy", "taker")):
        assert (order["side"], order["status"], order["filled_quantity"]) == (side, "filled", 5)
        assert order["average_fill_price"] == "101.00" and order["reserved_cash"] == "0.00"
        fills = [(f["price"], f["quantity"], f["liquidity"]) for f in order["fills"]]
        assert fills == [("101.00", 5, liquidity)]
    assert sell["fills"][0]["trade_id"] == buy["fills"][0]["trade_id"]

    # the cash moved to the cent, the shares too
    pa, pb = http.get("/portfolio", headers=alice).json(), http.get("/portfolio", headers=bob).json()
    assert pa["cash"] == {"available": "100505.00", "reserved": "0.00", "total": "100505.00"}
    assert pb["cash"] == {"available": "99495.00", "reserved": "0.00", "total": "99495.00"}
    [ha], [hb] = pa["holdings"], pb["holdings"]
    assert (ha["symbol"], ha["quantity"], ha["available_quantity"], ha["reserved_quantity"]) == (
        "ACME",
        5,
        5,
        0,
    )
    assert (hb["symbol"], hb["quantity"], hb["average_cost"]) == ("ACME", 5, "101.00")

    # the stock shows the trade
    stock = http.get("/stocks/ACME").json()
    assert stock["last_price"] == "101.00" and stock["volume"] == volume_before + 5
    assert (stock["best_bid"], stock["best_ask"]) == (None, None)
    [trade, *_] = http.get("/stocks/ACME/trades").json()["trades"]
    assert trade["id"] == buy["fills"][0]["trade_id"]
    assert (trade["price"], trade["quantity"], trade["aggressor_side"]) == ("101.00", 5, "buy")
    return {me_alice["id"], me_bob["id"]}


def test_the_first_trade_runs_twice_and_prints_what_the_readme_shows(
    make_run: Endpoints, tmp_path: Path
) -> None:
    expected = readme_block("first-trade-output")
    with httpx.Client(base_url=make_run.api, timeout=10) as http:
        seen_users: set[str] = set()
        for run in (1, 2):
            volume_before = http.get("/stocks/ACME").json()["volume"]

            # When a user pastes the README's first trade (again)
            stdout, v = run_first_trade(make_run, tmp_path)

            # Then it prints exactly what the README says it prints
            assert stdout == expected, f"run {run}"
            # and the orders filled, the cash and shares moved, the stock shows the trade
            users = assert_traded(http, v, volume_before)
            # between two new users (a second paste registers new ones)
            assert not users & seen_users, f"run {run} reused an account"
            seen_users |= users


def test_the_first_trade_waits_for_a_slow_matcher(tmp_path: Path) -> None:
    # Given a matcher that takes seconds (on AWS: a cold start): its first invocation crashes and the
    # stock's messages come back after the visibility timeout (180 s x LOCAL_TIME_SCALE 1/60 = 3 s)
    stack, endpoints = start_stack(
        tmp_path / "stack", LOCAL_FAULTS="matcher_crash_before_commit=1", LOCAL_FAULTS_LIMIT="1"
    )
    try:
        with httpx.Client(base_url=endpoints.api, timeout=10) as http:
            # When the README's first trade is pasted
            started = time.monotonic()
            stdout, v = run_first_trade(endpoints, tmp_path)

            # Then it waited for the matcher, and printed and did what the README says
            assert time.monotonic() - started > 2.5
            assert http.get("/health").json()["faults"] == {"matcher_crash_before_commit": 1}
            assert stdout == readme_block("first-trade-output")
            assert_traded(http, v, volume_before=0)
    finally:
        stack.stop()


class Terminal:
    """A command in bash with a pipe for its stdin and a reader thread on its stdout."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: IO[str]) -> None:
        for line in out:
            self.lines.put(line)

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pred: Any, timeout: float = 30) -> str:
        """The first output line (terminal escapes and prompts removed) that pred accepts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            line = ANSI.sub("", raw).strip()
            while line.startswith("> "):
                line = line[2:]
            self.seen.append(line)
            if pred(line):
                return line
        raise AssertionError(f"nothing matched within {timeout}s; printed: {self.seen}")

    def close(self) -> int:
        """Ctrl-D: end of input; the client closes the connection and exits."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def pushed(line: str) -> dict[str, Any] | None:
    """A message the client printed as received (`< {...}`), parsed."""
    return json.loads(line[2:]) if line.startswith("< {") else None


def test_the_websocket_hint_shows_the_first_trade_live(make_run: Endpoints, tmp_path: Path) -> None:
    command = readme_block("websocket")
    transcript = readme_block("websocket-transcript").splitlines()
    typed = [line[2:] for line in transcript if line.startswith("> ")]
    shown_types = {m.group(1) for line in transcript if (m := re.match(r'< \{"type":"(\w+)"', line))}
    [shown_trade] = [line for line in transcript if '"type":"TRADE_EXECUTED"' in line]
    env = {**os.environ, "WS_PORT": port(make_run.ws)}
    assert transcript[0] == "Connected to ws://127.0.0.1:8001/."  # the default port, as the README says
    assert typed == ['{"action":"subscribe","channels":["stock:ACME"]}']
    assert shown_types == {"subscribed", "ORDER_BOOK_UPDATED", "TRADE_EXECUTED"}

    # Given the README's WebSocket client, connected, and the line the README says to type
    terminal = Terminal(command, env)
    try:
        first = terminal.wait_for(lambda line: line != "")
        assert first == f"Connected to {make_run.ws}.", terminal.seen
        for line in typed:
            terminal.type(line)
        ack = terminal.wait_for(lambda line: pushed(line) is not None)
        assert pushed(ack) == {"type": "subscribed", "channels": ["stock:ACME"]}

        # When the first trade is pasted in the other terminal
        run_first_trade(make_run, tmp_path)

        # Then the client prints what the README's transcript shows: the trade and the book's changes
        trade = pushed(terminal.wait_for(lambda line: (pushed(line) or {}).get("type") == "TRADE_EXECUTED"))
        assert trade is not None and trade["channel"] == "stock:ACME"
        for key, value in re.findall(r'"(\w+)":("(?!\.\.\.")[^"]*"|\d+)', shown_trade.split('"data":', 1)[1]):
            assert trade["data"][key] == json.loads(value), (key, trade)
        printed = [msg for line in terminal.seen if (msg := pushed(line))]
        if not any(msg["type"] == "ORDER_BOOK_UPDATED" for msg in printed):
            terminal.wait_for(lambda line: (pushed(line) or {}).get("type") == "ORDER_BOOK_UPDATED")
            printed = [msg for line in terminal.seen if (msg := pushed(line))]
        assert {msg["type"] for msg in printed} == shown_types
        assert all(msg.get("channel", "stock:ACME") == "stock:ACME" for msg in printed)
    finally:
        rc = terminal.close()
    # And Ctrl-D closes it cleanly
    assert rc == 0
    assert (
        terminal.wait_for(lambda line: line.startswith("Connection closed"))
        == "Connection closed: 1000 (OK)."
    )
