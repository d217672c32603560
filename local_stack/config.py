"""The local stack's configuration: what `make run` reads from its environment, and its ports."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from local_stack import console_log, function_settings
from local_stack.demo import settings as demo_settings
from local_stack.event_sources import DEFAULT_TIME_SCALE, local_time_scale
from local_stack.faults import FaultRegistry
from local_stack.function_settings import FunctionEnvironment

LOCAL_ADMIN_EMAIL = "admin@example.com"
LOCAL_ADMIN_PASSWORD = "local-admin-password"  # a local default, printed at start; never used on AWS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether a server can listen on 127.0.0.1:port now (with SO_REUSEADDR, as uvicorn and moto's
    front bind: a port a stopped stack left in TIME_WAIT is free)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class PortInUse(RuntimeError):
    """A port of the configuration is taken: which one, and the variable that chooses another."""

    def __init__(self, variable: str, port: int) -> None:
        self.variable, self.port = variable, port
        super().__init__(
            f"port {port} ({variable}) is already in use on 127.0.0.1 (another `make run`?); "
            f"stop what holds it or choose another port: {variable}={_another_port(port)} make run"
        )


def _another_port(port: int) -> int:
    return next((p for p in range(port + 10, min(port + 1000, 65535), 10) if port_free(p)), free_port())


@dataclass
class StackConfig:
    api_port: int = 8000
    ws_port: int = 8001
    moto_port: int = 0  # 0: any free port
    admin_email: str = LOCAL_ADMIN_EMAIL
    admin_password: str = LOCAL_ADMIN_PASSWORD
    schedule_seconds: float = 60.0
    seed: bool = True
    # LOCAL_FAULTS / LOCAL_FAULTS_SEED / LOCAL_FAULTS_LIMIT; None: no fault (tests may still arm some)
    faults: FaultRegistry | None = None
    time_scale: float = DEFAULT_TIME_SCALE  # LOCAL_TIME_SCALE: AWS's visibility timeout x this, locally
    state_dir: Path | None = None  # None: nothing kept (the test session's stack); else see state_dir.py
    # the functions' settings from the environment (STARTING_CASH=500.00 make run): function_settings.py
    functions_env: FunctionEnvironment = field(default_factory=FunctionEnvironment)
    log_format: str = "console"  # LOCAL_LOG_FORMAT: console (one short line per record) or json (as on AWS)
    demo: demo_settings.DemoSettings | None = None  # DEMO=1: the demo traders (local_stack/demo), else None

    @classmethod
    def from_env(cls) -> StackConfig:
        """The configuration of `make run`; ValueError (one line) for a value it cannot start with."""
        return cls(
            api_port=_port("API_PORT", 8000),
            ws_port=_port("WS_PORT", 8001),
            moto_port=_port("MOTO_PORT", 0, any_allowed=True),
            admin_email=os.environ.get("ADMIN_EMAIL", LOCAL_ADMIN_EMAIL),
            admin_password=os.environ.get("ADMIN_PASSWORD", LOCAL_ADMIN_PASSWORD),
            schedule_seconds=_seconds("LOCAL_SCHEDULE_SECONDS", 60.0),
            faults=FaultRegistry.from_env(os.environ),  # FaultConfigError: the stack does not start
            time_scale=local_time_scale(os.environ.get("LOCAL_TIME_SCALE")),
            state_dir=state_dir_from_env(),
            functions_env=function_settings.from_environ(os.environ),  # FunctionSettingError
            log_format=console_log.local_log_format(os.environ.get("LOCAL_LOG_FORMAT")),
            demo=demo_settings.from_environ(os.environ),  # DEMO, DEMO_TRADERS, DEMO_RATE, DEMO_SEED
        )


def _port(variable: str, default: int, *, any_allowed: bool = False) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    low = 0 if any_allowed else 1
    if not value.isdigit() or not low <= int(value) <= 65535:
        raise ValueError(f"{variable}={value!r}: must be a port number, {low} to 65535")
    return int(value)


def _seconds(variable: str, default: float) -> float:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{variable}={value!r}: must be a number of seconds above 0")
    return seconds


def state_dir_from_env() -> Path | None:
    """`LOCAL_STATE_DIR`: where the stack keeps its state (`make run` sets .local/state); unset or
    empty, it keeps nothing (the stacks that tests and the chaos run start)."""
    value = os.environ.get("LOCAL_STATE_DIR", "")
    return Path(value).expanduser().resolve() if value else None
