"""`make run`: the whole system on loopback. Ctrl-C stops it; with `LOCAL_STATE_DIR` (make run sets
.local/state) what it holds is kept there for the next start. `make reset`
(`python -m local_stack reset`) empties that folder."""

from __future__ import annotations

import signal
import sys
import threading
import time

from local_stack.config import (
    LOCAL_ADMIN_EMAIL,
    LOCAL_ADMIN_PASSWORD,
    PortInUse,
    StackConfig,
    state_dir_from_env,
)
from local_stack.demo.market import DemoMarket
from local_stack.stack import LocalStack
from local_stack.state_dir import StateDir, StateDirBusy


def reset() -> None:
    folder = state_dir_from_env()
    if folder is None:
        print("LOCAL_STATE_DIR is not set: there is no state to reset")
        return
    try:
        StateDir(folder).reset()
    except StateDirBusy:
        sys.exit(f"{folder} is in use: stop the local stack first")
    print(f"{folder} emptied: the next `make run` starts with an empty market")


def banner(config: StackConfig, stack: LocalStack, seconds: float) -> str:
    """What `make run` prints once ready. The admin's password only when it is the local default
    (a password of your own stays off the screen and out of terminal logs)."""
    if config.admin_password == LOCAL_ADMIN_PASSWORD:
        default_email = config.admin_email == LOCAL_ADMIN_EMAIL
        admin = f"{config.admin_email} / {config.admin_password}   <- local default" + (
            "s (ADMIN_EMAIL / ADMIN_PASSWORD)" if default_email else " password (ADMIN_PASSWORD)"
        )
    else:
        admin = f"{config.admin_email} / (ADMIN_PASSWORD, not shown)"
    if config.state_dir is None:
        state = "none (LOCAL_STATE_DIR is not set): everything is lost at stop"
    else:
        kept = "restored" if stack.moto.restored else "new"
        state = f"{config.state_dir} ({kept}; `make reset` empties it)"
    return f"""
Local stack ready in {seconds:.1f}s (moto on 127.0.0.1:{config.moto_port}; no AWS involved)
  REST       {stack.api_url}        (OpenAPI: http://127.0.0.1:{config.api_port}/docs)
  Screen     http://127.0.0.1:{config.api_port}/              (the trading screen, in a browser)
  WebSocket  {stack.ws_url}
  Admin      {admin}
  State      {state}
Ctrl-C stops it."""


def main() -> None:
    if sys.argv[1:] == ["reset"]:
        reset()
        return
    started = time.monotonic()
    try:
        # LOCAL_FAULTS, LOCAL_TIME_SCALE, the ports, the functions' settings (STARTING_CASH=abc):
        # a clear message, not a traceback
        config = StackConfig.from_env()
    except ValueError as exc:
        raise SystemExit(f"local stack not started: {exc}") from None
    for note in config.functions_env.notes():
        print(f"note: {note}", flush=True)
    stack = LocalStack(config)
    try:
        stack.start()
    except PortInUse as exc:  # checked before anything starts; or taken meanwhile (then stop the rest)
        stack.stop()
        raise SystemExit(f"local stack not started: {exc}") from None
    except KeyboardInterrupt:  # Ctrl-C before it was ready: stop what started, no traceback
        stack.stop()
        raise SystemExit("local stack not started: interrupted") from None
    print(banner(config, stack, time.monotonic() - started), flush=True)
    admin = (config.admin_email, config.admin_password)
    demo = DemoMarket(config.demo, stack.api_url, stack.ws_url, admin).start() if config.demo else None
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGHUP, lambda *_: done.set())  # the terminal closed: a clean stop too
    while not done.wait(1):
        if not stack.ready():
            print("a part of the local stack stopped; shutting down", flush=True)
            break
    if demo is not None:
        print(demo.shutdown(), flush=True)  # the traders first: they stop before the stack they use
    stack.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
