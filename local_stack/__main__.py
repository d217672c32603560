"""`make run`: the whole system on loopback. Ctrl-C stops it; with `LOCAL_STATE_DIR` (make run sets
.local/state) what it holds is kept there for the next start. `make reset`
(`python -m local_stack reset`) empties that folder."""

from __future__ import annotations

import signal
import sys
import threading
import time

from local_stack.stack import (
    LOCAL_ADMIN_EMAIL,
    LOCAL_ADMIN_PASSWORD,
    LocalStack,
    StackConfig,
    state_dir_from_env,
)
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


def main() -> None:
    if sys.argv[1:] == ["reset"]:
        reset()
        return
    started = time.monotonic()
    try:
        config = StackConfig.from_env()
    except ValueError as exc:  # LOCAL_FAULTS, LOCAL_TIME_SCALE: a clear message, not a traceback
        raise SystemExit(f"local stack not started: {exc}") from None
    stack = LocalStack(config).start()
    local_default = config.admin_email == LOCAL_ADMIN_EMAIL and config.admin_password == LOCAL_ADMIN_PASSWORD
    note = "   <- local defaults (ADMIN_EMAIL / ADMIN_PASSWORD)" if local_default else ""
    if config.state_dir is None:
        state = "none (LOCAL_STATE_DIR is not set): everything is lost at stop"
    else:
        kept = "restored" if stack.moto.restored else "new"
        state = f"{config.state_dir} ({kept}; `make reset` empties it)"
    print(
        f"""
Local stack ready in {time.monotonic() - started:.1f}s (moto on 127.0.0.1:{config.moto_port}; no AWS involved)
  REST       {stack.api_url}        (OpenAPI: http://127.0.0.1:{config.api_port}/docs)
  WebSocket  {stack.ws_url}
  Admin      {config.admin_email} / {config.admin_password}{note}
  State      {state}
Ctrl-C stops it.""",
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGHUP, lambda *_: done.set())  # the terminal closed: a clean stop too
    while not done.wait(1):
        if not stack.ready():
            print("a part of the local stack stopped; shutting down", flush=True)
            break
    stack.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
