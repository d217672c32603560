"""`python -m local_stack` (what `make run` runs) as a new user meets it, as a child process over
real HTTP: function settings from its environment, the console's log lines (each naming its own
function), a bad value or a taken port refused in one line, the banner's admin password."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from exchange.adapters.connections import ConnectionStore
from local_stack.stack import free_port
from local_stack.template import ROOT
from tests.conftest import bearer
from tests.e2e.conftest import grant, place_order, settled, wait_until

ADMIN = {"email": "ux-admin@example.com", "password": "ux-admin-secret-password"}
# the variables a developer's shell may have set that would change what these tests see
_UNSET = ("LOG_LEVEL", "LOCAL_LOG_FORMAT", "LOCAL_STATE_DIR", "LOCAL_FAULTS", "STARTING_CASH")
# 14:02:31.415 INFO    exchange-matcher    batch committed  symbol=ACME version=2 ...
CONSOLE_LINE = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{3}) (DEBUG|INFO|WARNING|ERROR|CRITICAL) +(exchange-[a-z]+) +(\S.*?)(?:  (\S.*))?$"
)


def _environ(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _UNSET}
    return {
        **base,
        "LOCAL_SCHEDULE_SECONDS": "3600",
        "ADMIN_EMAIL": ADMIN["email"],
        "ADMIN_PASSWORD": ADMIN["password"],
        "PYTHONUNBUFFERED": "1",
        **env,
    }


def _run_to_exit(timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=_environ(**{"API_PORT": str(free_port()), "WS_PORT": str(free_port()), **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Stack:
    def __init__(self, log: Path, **env: str) -> None:
        self.api_port, self.ws_port, self.moto_port = free_port(), free_port(), free_port()
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "local_stack"],
                cwd=ROOT,
                env=_environ(
                    API_PORT=str(self.api_port),
                    WS_PORT=str(self.ws_port),
                    MOTO_PORT=str(self.moto_port),
                    **env,
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{self.api_port}"
        wait_until(self._healthy, timeout=90, interval=0.2)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the stack exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ux_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One child stack for the module: 500.00 of starting cash, the admin's own password."""
    s = Stack(tmp_path_factory.mktemp("ux") / "stack.log", STARTING_CASH="500.00")
    yield s
    s.stop()


def _console_lines(output: str) -> list[tuple[str, str, str]]:
    """(service, message, keys) of every log line the functions wrote."""
    found = []
    for line in output.splitlines():
        m = CONSOLE_LINE.match(line)
        if m:
            found.append((m.group(3), m.group(4), m.group(5) or ""))
    return found


def _register(http: httpx.Client, name: str) -> dict[str, Any]:
    email = f"{name}-{time.monotonic_ns()}@example.com"
    r = http.post("/api/auth/register", json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    return {**r.json(), "email": email, "headers": bearer(r.json()["access_token"])}


def test_starting_cash_from_the_environment_is_what_a_new_user_gets(ux_stack: Stack) -> None:
    # Given the stack was started with STARTING_CASH=500.00
    with httpx.Client(base_url=ux_stack.base, timeout=10) as http:
        # When a new user registers
        user = _register(http, "cash")
        # Then their cash is 500.00, not the template's 100,000.00
        portfolio = http.get("/api/portfolio", headers=user["headers"])
        assert portfolio.status_code == 200, portfolio.text
        assert portfolio.json()["cash"] == {"available": "500.00", "reserved": "0.00", "total": "500.00"}


def test_each_log_line_names_its_own_function_in_the_console_format(ux_stack: Stack) -> None:
    with httpx.Client(base_url=ux_stack.base, timeout=10) as http:
        # Given a stock with a subscriber whose connection is gone (the notifier will say so)
        admin = http.post("/api/auth/login", json=ADMIN).json()["access_token"]
        r = http.post(
            "/api/admin/stocks",
            headers=bearer(admin),
            json={"symbol": "UXLOG", "name": "Ux Log", "reference_price": "10.00"},
        )
        assert r.status_code == 201, r.text
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{ux_stack.moto_port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        connections = ConnectionStore("ConnectionsTable", ddb)
        connections.connect("ghost-connection", None, int(time.time()))
        connections.subscribe("ghost-connection", ["stock:UXLOG"], int(time.time()))
        seller, buyer = _register(http, "seller"), _register(http, "buyer")
        grant(http, admin, seller, "UXLOG", 5)

        # When the api refuses a login, and a trade goes through the matcher and the notifier
        assert http.post("/api/auth/login", json={**ADMIN, "password": "not-the-password"}).status_code == 401
        sell = place_order(http, seller, "UXLOG", "sell", 2, "10.00").json()
        settled(http, seller, sell["id"])
        buy = place_order(http, buyer, "UXLOG", "buy", 2, "10.00").json()
        assert settled(http, buyer, buy["id"])["status"] == "filled"

        # Then each line is a short human line that names the function that wrote it
        def lines() -> list[tuple[str, str, str]]:
            found = _console_lines(ux_stack.output())
            return found if any("ghost-connection" in keys for _, _, keys in found) else []

        found = wait_until(lines, timeout=20)
    by_message: dict[str, set[str]] = {}
    for service, message, _ in found:
        by_message.setdefault(message, set()).add(service)
    assert by_message["login failed"] == {"exchange-api"}
    assert by_message["batch committed"] == {"exchange-matcher"}
    assert by_message["connection gone"] == {"exchange-notifier"}
    committed = [keys for _, message, keys in found if message == "batch committed"]
    assert any("symbol=UXLOG" in keys and "trades=1" in keys for keys in committed), committed
    output = ux_stack.output()
    assert not [line for line in output.splitlines() if line.startswith("{")], "a JSON log line locally"
    assert max(len(line) for line in output.splitlines() if CONSOLE_LINE.match(line)) < 160
    assert "function_arn" not in output and "cold_start" not in output


def test_a_custom_admin_password_is_not_printed(ux_stack: Stack) -> None:
    output = ux_stack.output()
    assert f"Admin      {ADMIN['email']} / (ADMIN_PASSWORD, not shown)" in output
    assert ADMIN["password"] not in output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"STARTING_CASH": "abc"},
            "local stack not started: STARTING_CASH='abc': must match ^[0-9]{1,12}\\.[0-9]{2}$ "
            "(template.yaml's StartingCash)",
        ),
        (
            {"ACCESS_TOKEN_TTL_SECONDS": "-1"},
            "local stack not started: ACCESS_TOKEN_TTL_SECONDS='-1': Input should be greater than 0",
        ),
        (
            {"LOG_LEVEL": "loud"},
            "local stack not started: LOG_LEVEL='loud': must be one of DEBUG, INFO, WARNING, ERROR "
            "(template.yaml's LogLevel)",
        ),
    ],
    ids=["STARTING_CASH", "ACCESS_TOKEN_TTL_SECONDS", "LOG_LEVEL"],
)
def test_an_invalid_function_setting_stops_the_start_in_one_line(env: dict[str, str], message: str) -> None:
    # When the stack is started with a value a function would refuse
    done = _run_to_exit(**env)
    # Then it exits non-zero before starting anything, with one line naming the variable and why
    assert done.returncode == 1, done
    assert done.stderr.strip() == message
    assert "Traceback" not in done.stderr + done.stdout
    assert "Local stack ready" not in done.stdout


@pytest.mark.parametrize("variable", ["API_PORT", "WS_PORT", "MOTO_PORT"])
def test_a_port_in_use_is_named_with_the_variable_that_chooses_another(variable: str) -> None:
    # Given something already listens on the port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When the stack is started on it
        done = _run_to_exit(**{variable: str(port)})
    # Then it says which port, which variable, how to choose another; exit 1, no traceback
    assert done.returncode == 1, done
    line = done.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(f"local stack not started: port {port} ({variable}) is already in use"), line
    assert re.search(rf"choose another port: {variable}=\d+ make run$", line), line
    assert "Traceback" not in done.stderr + done.stdout
