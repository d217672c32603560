"""The local stack as `make run` starts it (a process of its own, real HTTP): the LOCAL_FAULTS
contract (bad values stop the start, health counts every configured fault, a fault fires), and the
caller's address taken from the TCP peer, never from a header the caller wrote (as on AWS, where
the code reads the gateway's sourceIp)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from local_stack.faults import FAULT_NAMES
from local_stack.stack import free_port
from local_stack.template import ROOT

PASSWORD = "correct horse battery"


@contextmanager
def local_stack(**env: str) -> Iterator[httpx.Client]:
    """`python -m local_stack` with these variables; an HTTP client on its api."""
    api_port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_FAULTS"))}
    full.update({"API_PORT": str(api_port), "WS_PORT": str(free_port()), **env})
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the local stack did not start"
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            yield http
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _register(http: httpx.Client) -> dict[str, Any]:
    email = f"t-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "display_name": "t"})
    assert r.status_code == 201, r.text
    return {**r.json(), "email": email, "headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}


def _wait(fn: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if last := fn():
            return last
        time.sleep(0.1)
    raise AssertionError("condition not met")


@pytest.mark.parametrize(
    ("spec", "message"),
    [("matcher_crash=0.1", "unknown fault 'matcher_crash'"), ("sqs_duplicate=1.5", "is outside [0, 1]")],
)
def test_a_bad_local_faults_value_stops_the_start_with_a_clear_message(spec: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env={**env, "LOCAL_FAULTS": spec, "API_PORT": str(free_port()), "WS_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.startswith("local stack not started: LOCAL_FAULTS: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_health_counts_every_configured_fault_and_a_fault_fires() -> None:
    spec = ",".join(f"{name}=0" for name in FAULT_NAMES if name != "sqs_duplicate") + ",sqs_duplicate=1"
    with local_stack(LOCAL_FAULTS=spec, LOCAL_FAULTS_SEED="1") as http:
        assert http.get("/api/health").json() == {"status": "ok", "faults": dict.fromkeys(FAULT_NAMES, 0)}
        trader = _register(http)
        r = http.post(
            "/api/orders",
            headers=trader["headers"],
            json={"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 2, "limit_price": "90.00"},
        )
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        # every first delivery is left undeleted once: the order's message came twice, one order rests
        faults = _wait(lambda: (f := http.get("/api/health").json()["faults"])["sqs_duplicate"] >= 1 and f)
        assert {k: v for k, v in faults.items() if k != "sqs_duplicate"} == dict.fromkeys(
            set(FAULT_NAMES) - {"sqs_duplicate"}, 0
        )
        order = _wait(
            lambda: (
                (o := http.get(f"/api/orders/{order_id}", headers=trader["headers"]).json())["status"]
                != "pending"
                and o
            )
        )
        assert order["status"] == "open" and order["reserved_cash"] == "180.00"
        time.sleep(1.0)  # the duplicate is handled by now: still one resting order of 2
        book = http.get("/api/stocks/ACME/orderbook").json()
        assert [(b["price"], b["quantity"]) for b in book["bids"]] == [("90.00", 2)]
        portfolio = http.get("/api/portfolio", headers=trader["headers"]).json()
        assert portfolio["cash"] == {"available": "99820.00", "reserved": "180.00", "total": "100000.00"}


def test_x_forwarded_for_does_not_pick_the_login_throttle_bucket() -> None:
    """20 failed logins from this address throttle it; a header claiming another address must not
    get a fresh bucket (before the fix uvicorn trusted X-Forwarded-For from loopback: 200)."""
    with local_stack() as http:
        trader = _register(http)
        for _ in range(20):  # the per-IP limit, each for another email (the per-email limit is 5)
            r = http.post(
                "/api/auth/login",
                json={"email": f"x-{uuid.uuid4().hex[:8]}@example.com", "password": "wrong"},
            )
            assert r.status_code == 401, r.text
        right = {"email": trader["email"], "password": PASSWORD}
        assert http.post("/api/auth/login", json=right).status_code == 429
        spoofed = http.post("/api/auth/login", json=right, headers={"X-Forwarded-For": "203.0.113.7"})
        assert spoofed.status_code == 429, spoofed.text
        assert spoofed.headers.get("Retry-After")
