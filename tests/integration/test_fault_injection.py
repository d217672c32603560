"""The local stack as `make run` starts it (a process of its own, real HTTP): the LOCAL_FAULTS
contract (bad values stop the start, health counts every configured fault, a fault fires), and the
caller's address taken from the TCP peer, never from a header the caller wrote (as on AWS, where
the code reads the gateway's sourceIp). Then the SQS poller on moto's server: failed messages back
only after the scaled visibility timeout, a crash fails the whole batch, sqs_duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
import pytest

from local_stack.event_sources import SqsPoller, StreamPoller
from local_stack.faults import FAULT_NAMES, SQS_DUPLICATE, FaultRegistry
from local_stack.lambda_runtime import FunctionCrashed
from local_stack.stack import free_port
from local_stack.template import ROOT
from tests.integration.conftest import CREDS, hash_table, moto_server

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


# ---------------------------------------------------------------------- the SQS poller, on moto's server
@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def sqs(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, **CREDS)


def _queue(sqs: Any, messages: list[tuple[str, str]]) -> str:
    """A FIFO queue with the template's kind of visibility timeout (120 s -> 2 s at the default 1/60)."""
    url = str(
        sqs.create_queue(
            QueueName=f"q-{uuid.uuid4().hex[:8]}.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "120"},
        )["QueueUrl"]
    )
    for group, body in messages:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    return url


def _run(poller: SqsPoller, until: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        poller.poll_once()
        time.sleep(0.02)


def test_a_failed_message_comes_back_after_the_scaled_visibility_timeout_and_holds_its_group(
    sqs: Any,
) -> None:
    url = _queue(sqs, [("A", "a1"), ("A", "a2"), ("B", "b1")])
    seen: list[tuple[float, str]] = []
    started = time.monotonic()

    def function(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for r in event["Records"]:
            seen.append((time.monotonic() - started, r["body"]))
            # group A fails once, as the matcher reports a failed stock: its message and the rest of its group
            if r["attributes"]["MessageGroupId"] == "A" and r["attributes"]["ApproximateReceiveCount"] == "1":
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}

    poller = SqsPoller(sqs, url, "arn:q", function, stop=threading.Event(), wait_s=0)
    assert poller.backoff_s == pytest.approx(2.0)  # VisibilityTimeout 120 s x LOCAL_TIME_SCALE 1/60
    _run(poller, lambda: [b for _, b in seen].count("a2") == 2)

    bodies = [b for _, b in seen]
    assert bodies.count("b1") == 1 and bodies.count("a1") == 2
    again = [(t, b) for t, b in seen[3:]]
    assert [b for _, b in again] == ["a1", "a2"]  # back in order, and only after the timeout
    assert all(t >= 2.0 for t, _ in again)
    assert poller.failed_messages == 2


def test_a_crashed_invocation_fails_every_message_of_its_batch(sqs: Any) -> None:
    url = _queue(sqs, [("A", "c1"), ("B", "c2")])
    calls: list[list[str]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        calls.append([r["body"] for r in event["Records"]])
        if len(calls) == 1:
            raise FunctionCrashed("injected")
        return {"batchItemFailures": []}

    poller = SqsPoller(sqs, url, "arn:q", function, stop=threading.Event(), wait_s=0, backoff_s=0.5)
    _run(poller, lambda: sum(map(len, calls)) >= 4)
    poller.poll_once()  # and nothing is left
    # both came back (released one by one, so maybe in two batches), each exactly once
    assert calls[0] == ["c1", "c2"] and sorted(b for c in calls[1:] for b in c) == ["c1", "c2"]
    assert poller.crashed_invocations == 1 and poller.failed_messages == 2


def test_sqs_duplicate_delivers_a_handled_message_exactly_twice(sqs: Any) -> None:
    url = _queue(sqs, [("A", "d1"), ("A", "d2")])
    handled: list[str] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        handled.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    registry = FaultRegistry({SQS_DUPLICATE: 1.0})
    poller = SqsPoller(sqs, url, "arn:q", function, stop=threading.Event(), wait_s=0, faults=registry)
    _run(poller, lambda: len(handled) >= 4)
    time.sleep(0.3)
    poller.poll_once()  # nothing more: a duplicate is not duplicated again
    assert sorted(handled) == ["d1", "d1", "d2", "d2"]
    assert sorted(poller.deliveries.values()) == [2, 2]
    assert registry.counts() == {SQS_DUPLICATE: 2}


def test_a_stream_record_that_failed_once_is_not_discarded_because_earlier_records_failed(
    endpoint: str,
) -> None:
    # Given 4 changes, each of which fails once (as a transient post_to_connection failure does)
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)
    table = f"s-{uuid.uuid4().hex[:8]}"
    arn = hash_table(ddb, table, stream=True)
    for pk in ("a", "b", "c", "d"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}})
    failed_once: set[str] = set()
    handled: list[str] = []
    discarded: list[str] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        for r in event["Records"]:
            key = r["dynamodb"]["Keys"]["pk"]["S"]
            if key not in failed_once:
                failed_once.add(key)
                return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
            handled.append(key)
        return {"batchItemFailures": []}

    poller = StreamPoller(
        streams,
        str(arn),
        function,
        max_retries=2,
        stop=threading.Event(),
        on_failure=lambda p: discarded.append(p["record"]["dynamodb"]["Keys"]["pk"]["S"]),
    )
    # When one poll delivers them (the checkpoint moves forward after every retry)
    poller.poll_once()
    # Then no record is discarded: none failed more than MaximumRetryAttempts (2) times in a row
    assert discarded == []
    assert handled == ["a", "b", "c", "d"]
