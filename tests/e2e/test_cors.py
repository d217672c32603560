"""CORS over real HTTP: a local stack started as `make run` starts it (`python -m local_stack`) with
``CORS_ALLOWED_ORIGINS`` set answers a browser front end on another origin (preflight, credentialed
requests with the refresh cookie); the test session's stack, started with the default
configuration, allows no origin at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import IO

import httpx
import pytest

from local_stack.stack import LocalStack, free_port
from local_stack.template import ROOT
from tests.conftest import bearer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FRONT = "http://localhost:5173"
OTHER = "https://evil.example"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def cors_api() -> Iterator[str]:
    """`python -m local_stack` with CORS_ALLOWED_ORIGINS set; its REST base URL."""
    api_port, ws_port = free_port(), free_port()
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_VERSION")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "API_PORT": str(api_port),
            "WS_PORT": str(ws_port),
            "CORS_ALLOWED_ORIGINS": f"{FRONT},https://app.example.com",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # its output to a file, not a pipe (a full pipe would stall the stack)
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            yield _wait_ready(proc, log, f"http://127.0.0.1:{api_port}")
        finally:
            if proc.poll() is None:  # stopped as Ctrl-C stops it, by its own id
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen[str], log: IO[str], base: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise AssertionError(f"the local stack exited ({proc.returncode}): {log.read()}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the local stack was not ready within {timeout} s")
        time.sleep(0.2)


def test_a_preflight_from_the_configured_origin_is_answered(cors_api: str) -> None:
    # When the browser asks whether the front end may POST an order with a token and a JSON body
    r = httpx.options(
        f"{cors_api}/api/orders",
        headers={
            "Origin": FRONT,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    # Then yes, for that origin, with credentials
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == FRONT
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    # and the CSRF header for refresh and logout
    r = httpx.options(
        f"{cors_api}/api/auth/refresh",
        headers={
            "Origin": FRONT,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token",
        },
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == FRONT


def test_a_preflight_from_another_origin_is_refused(cors_api: str) -> None:
    r = httpx.options(
        f"{cors_api}/api/orders", headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert r.json()["error"]["details"] == {"refused": ["origin"]}
    assert "access-control-allow-origin" not in r.headers


def test_the_front_end_signs_in_reads_and_refreshes_with_credentials(cors_api: str) -> None:
    with httpx.Client(base_url=cors_api, headers={"Origin": FRONT}, timeout=10) as browser:
        # When the front end registers (a credentialed fetch: the answer sets the cookies)
        email = f"cors-{uuid.uuid4().hex[:10]}@example.com"
        r = browser.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.headers["access-control-allow-origin"] == FRONT
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "refresh_token" in browser.cookies
        session = r.json()
        # Then a credentialed GET with its token may be read by it
        r = browser.get("/api/auth/me", headers=bearer(session["access_token"]))
        assert r.status_code == 200 and r.json()["email"] == email
        assert r.headers["access-control-allow-origin"] == FRONT
        assert r.headers["access-control-allow-credentials"] == "true"
        # and the refresh cookie works from there (the CSRF token from the session body: the front
        # end cannot read the api origin's cookies)
        r = browser.post("/api/auth/refresh", headers={"X-CSRF-Token": session["csrf_token"]})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == FRONT
        # while another origin's requests are answered but not readable by its page
        r = browser.get("/api/stocks", headers={"Origin": OTHER})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_nothing_is_allowed_by_default(stack: LocalStack) -> None:
    # Given the test session's stack, started with the default configuration (no origin)
    base = stack.api_url.removesuffix("/api")
    for origin in (FRONT, OTHER):
        # Then a preflight is refused and no answer names an allowed origin
        r = httpx.options(
            f"{base}/api/orders", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert "access-control-allow-origin" not in r.headers
        r = httpx.get(f"{base}/api/stocks", headers={"Origin": origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
