"""The load benchmark's local stack: `python -m local_stack` as a child process (its own ports, no
state folder, the AWS call counter on), and the accounts the run trades with."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from benchmarks.load_traders import Trader
from local_stack.stack import LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, free_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-trader-password"


@dataclass
class StackProcess:
    schedule_seconds: float = 60.0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-load-")))

    def start(self, timeout: float = 120) -> None:
        self.api_port, self.ws_port, self.moto_port = free_port(), free_port(), free_port()
        self.counts_path = self.workdir / "call_counts.json"
        self.log_path = self.workdir / "stack.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_FAULTS", "AWS_ENDPOINT_URL"))}
        env.update(
            {
                "API_PORT": str(self.api_port),
                "WS_PORT": str(self.ws_port),
                "MOTO_PORT": str(self.moto_port),
                "LOCAL_STATE_DIR": "",
                "LOCAL_CALL_COUNTS": str(self.counts_path),
                "LOCAL_SCHEDULE_SECONDS": str(self.schedule_seconds),
                "ADMIN_EMAIL": LOCAL_ADMIN_EMAIL,
                "ADMIN_PASSWORD": LOCAL_ADMIN_PASSWORD,
                "PYTHONUNBUFFERED": "1",
            }
        )
        self._log: IO[str] = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the local stack exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.api}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the local stack did not become healthy; see {self.log_path}")

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def counts(self) -> dict[str, Any]:
        """The stack's AWS calls so far (written every 0.5 s)."""
        try:
            return dict(json.loads(self.counts_path.read_text()))
        except (OSError, ValueError):
            return {"calls": [], "invocations": {}}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


async def setup_accounts(
    http: httpx.AsyncClient, n_traders: int, symbols: list[str], run_id: str
) -> list[Trader]:
    """The run's stocks (100.00 each) and traders, each with ample cash and shares of every stock."""
    r = await http.post("/auth/login", json={"email": LOCAL_ADMIN_EMAIL, "password": LOCAL_ADMIN_PASSWORD})
    r.raise_for_status()
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for s in symbols:
        r = await http.post(
            "/admin/stocks",
            headers=admin,
            json={"symbol": s, "name": f"Bench {s}", "reference_price": "100.00"},
        )
        if r.status_code != 409:
            r.raise_for_status()

    async def one(i: int) -> Trader:
        t = Trader(f"bench-{run_id}-{i}@example.com", PASSWORD)
        r = await http.post("/auth/register", json={"email": t.email, "password": t.password})
        r.raise_for_status()
        t.user_id, t.token = r.json()["user"]["id"], r.json()["access_token"]
        r = await http.post(
            f"/admin/users/{t.user_id}/deposit", headers=admin, json={"amount": "100000000.00"}
        )
        r.raise_for_status()
        for s in symbols:
            r = await http.post(
                f"/admin/users/{t.user_id}/grant", headers=admin, json={"symbol": s, "quantity": 10_000_000}
            )
            r.raise_for_status()
        return t

    sem = asyncio.Semaphore(4)  # argon2 registrations: a few at a time

    async def limited(i: int) -> Trader:
        async with sem:
            return await one(i)

    return list(await asyncio.gather(*(limited(i) for i in range(n_traders))))


async def relogin(http: httpx.AsyncClient, traders: list[Trader]) -> None:
    """Fresh access tokens (they last 15 minutes; a preload can take longer)."""

    async def one(t: Trader) -> None:
        r = await http.post("/auth/login", json={"email": t.email, "password": t.password})
        r.raise_for_status()
        t.token = r.json()["access_token"]

    for t in traders:
        await one(t)
