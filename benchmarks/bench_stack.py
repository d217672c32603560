"""The load benchmark's local stack: `python -m local_stack` as a child process (its own ports, no
state folder, the AWS call counter on), and the accounts the run trades with."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load_traders import Trader
from local_stack.stack import LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD
from tools.chaos import stack as chaos_stack
from tools.chaos.stack import StackProcess as ChildStack

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-trader-password"
PENDING_GRACE_SECONDS = 120  # the api's default (exchange/settings.py): orders merely queued are not swept


@dataclass
class StackProcess:
    """The chaos run's child stack (tools/chaos/stack.py) with no fault, the API's own pending
    grace, and the AWS call counter on."""

    schedule_seconds: float = 60.0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-load-")))

    def start(self, timeout: float = 120) -> None:
        self.counts_path = self.workdir / "call_counts.json"
        self.log_path = self.workdir / "stack.log"
        if root := os.environ.get("BENCH_STACK_ROOT"):  # A/B: another checkout's local stack
            chaos_stack.ROOT = Path(root)
        self.child = ChildStack(
            faults="",
            faults_seed=0,
            schedule_seconds=self.schedule_seconds,
            pending_grace_seconds=PENDING_GRACE_SECONDS,
            log_path=self.log_path,
            extra_env={"LOCAL_STATE_DIR": "", "LOCAL_CALL_COUNTS": str(self.counts_path)},
        )
        endpoints = self.child.start(timeout)
        self.api, self.ws = endpoints.api, endpoints.ws
        self.moto = endpoints.moto or ""

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def counts(self) -> dict[str, Any]:
        """The stack's AWS calls so far (written every 0.5 s)."""
        try:
            return dict(json.loads(self.counts_path.read_text()))
        except (OSError, ValueError):
            return {"calls": [], "invocations": {}}

    def stop(self) -> None:
        self.child.stop()


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
