"""`make run`: the whole system on loopback. Ctrl-C stops it."""

from __future__ import annotations

import signal
import threading
import time

from local_stack.stack import LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, LocalStack, StackConfig


def main() -> None:
    started = time.monotonic()
    try:
        config = StackConfig.from_env()
    except ValueError as exc:  # LOCAL_FAULTS, LOCAL_TIME_SCALE: a clear message, not a traceback
        raise SystemExit(f"local stack not started: {exc}") from None
    stack = LocalStack(config).start()
    local_default = config.admin_email == LOCAL_ADMIN_EMAIL and config.admin_password == LOCAL_ADMIN_PASSWORD
    note = "   <- local defaults (ADMIN_EMAIL / ADMIN_PASSWORD)" if local_default else ""
    print(
        f"""
Local stack ready in {time.monotonic() - started:.1f}s (moto on 127.0.0.1:{config.moto_port}; no AWS involved)
  REST       {stack.api_url}        (OpenAPI: http://127.0.0.1:{config.api_port}/docs)
  WebSocket  {stack.ws_url}
  Admin      {config.admin_email} / {config.admin_password}{note}
Ctrl-C stops it.""",
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    while not done.wait(1):
        if not stack.ready():
            print("a part of the local stack stopped; shutting down", flush=True)
            break
    stack.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
