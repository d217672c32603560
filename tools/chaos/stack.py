"""The local stack as a child process (`python -m local_stack`), with faults and short timers."""

from __future__ import annotations

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

from local_stack.stack import LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Endpoints:
    api: str  # http://127.0.0.1:<port>/api
    ws: str  # ws://127.0.0.1:<port>/
    moto: str | None  # http://127.0.0.1:<port> (None: the checker cannot read the table)
    admin_email: str = LOCAL_ADMIN_EMAIL
    admin_password: str = LOCAL_ADMIN_PASSWORD


def wait_healthy(api: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{api}/health", timeout=5)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the local stack at {api} did not become healthy within {timeout:.0f}s")


@dataclass
class StackProcess:
    faults: str
    faults_seed: int
    schedule_seconds: float = 2.0
    pending_grace_seconds: int = 5
    log_path: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / f"chaos-stack-{os.getpid()}.log"
    )
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 120) -> Endpoints:
        api_port, ws_port, moto_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "API_PORT": str(api_port),
            "WS_PORT": str(ws_port),
            "MOTO_PORT": str(moto_port),
            "LOCAL_FAULTS": self.faults,
            "LOCAL_FAULTS_SEED": str(self.faults_seed),
            "LOCAL_SCHEDULE_SECONDS": str(self.schedule_seconds),
            "PENDING_GRACE_SECONDS": str(self.pending_grace_seconds),
            "ADMIN_EMAIL": LOCAL_ADMIN_EMAIL,
            "ADMIN_PASSWORD": LOCAL_ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self._log: IO[str] = self.log_path.open("w")
        self.proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        endpoints = Endpoints(
            f"http://127.0.0.1:{api_port}/api", f"ws://127.0.0.1:{ws_port}/", f"http://127.0.0.1:{moto_port}"
        )
        try:
            wait_healthy(endpoints.api, timeout)
        except RuntimeError:
            self.stop()
            raise
        return endpoints

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the stack's clean stop
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
