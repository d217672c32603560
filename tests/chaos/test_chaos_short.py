"""The short chaos run of `make test`: its own local stack with every fault of the contract at 3%,
30 traders over HTTP and WebSocket on 3 stocks, a few hundred orders of every type and time in
force with cancels and client_order_id races; then quiet, 0 violations, 0 responses >= 500.

Run as its own pytest process (`make test` does): the tool starts the stack as a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_chaos_run_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.chaos",
            *("--orders", "400", "--traders", "30", "--stocks", "3", "--seed", "7", "--rate", "12"),
            *("--faults", "default", "--quiesce-timeout", "200", "--json", str(out)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    s = json.loads(out.read_text())
    report = "\n".join(s["violations"][:30] + s["server_errors"][:10] + s["unexpected"][:10])
    assert s["result"] == "PASS", f"{s['result']}\n{report}\n{proc.stdout[-2000:]}"
    assert proc.returncode == 0
    # it did what it says: orders of every kind, trades, cancels, duplicate races, seen on the WebSocket
    assert s["orders_stored"] >= 300 and s["trades"] > 0
    assert s["orders_by_status"].get("pending", 0) == 0
    assert {"filled", "cancelled"} <= set(s["orders_by_status"])
    assert {"unfilled_ioc", "fok_not_fillable", "user"} <= set(s["cancel_reasons"])
    c = s["counters"]
    assert c["cancels_accepted"] > 0 and c["cancels_at_once"] > 0 and c["cancels_twice"] > 0
    assert c["duplicates_same"] > 0 and c["duplicates_different"] > 0
    # every connection saw every trade (identical duplicates come on top)
    assert s["websocket"]["by_type"]["TRADE_EXECUTED"] >= s["trades"] * s["traders"]
    assert s["responses_5xx"] == 0
    # and every stock's audit log replays, through the engine alone, to its stored trades and book
    assert s["replay"] and set(s["replay"].values()) == {"identical"}, s["replay"]
