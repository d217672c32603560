"""moto's server in a process of its own (a second core for the local stack), with the fidelity
patches applied, and (with a state folder) the durable state of local_stack/persistence.py.

Child: `python -m local_stack.moto_process PORT [STATE_DIR]`; prints one line, `ready {json}`
(`{"restored": bool, "checkpoints": {...}}`), once it listens. Then it reads its stdin: one JSON
command a line (`{"checkpoint": [stream_arn, shard_id, sequence_number]}`) until end of file, which
comes when the parent stops it or dies (even by kill -9): it saves a last time and exits.
Parent: `MotoProcess` starts it and sends the stream pollers' checkpoints.

It serves through local_stack/moto_front.py (one thread, keep-alive, moto's handlers called
directly); `LOCAL_MOTO_SERVER=werkzeug` serves through moto's own ThreadedMotoServer instead, and
`LOCAL_MOTO_SPEED=0` leaves out local_stack/moto_speed.py - the baseline that
tests/integration/test_moto_front.py and benchmarks/moto_calls.py compare with.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_stack import moto_fidelity
from local_stack.state_dir import StateDir, StateDirBusy

SAVE_EVERY_S = 2.0
LOCK_WAIT_S = 60.0  # a previous moto process may still be writing its last save


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _exit_on_signal(signum: int, _: Any) -> None:
    raise SystemExit(128 + signum)  # through main's `finally`: the last save


def _hold(state: StateDir) -> Any:
    try:
        return state.lock()
    except StateDirBusy:
        _say(f"{state.path} is held by another local stack (or its last save): waiting {LOCK_WAIT_S:.0f} s")
    try:
        return state.lock(wait_s=LOCK_WAIT_S)
    except StateDirBusy:
        sys.exit(f"{state.path} is in use by another local stack: stop it, or set LOCAL_STATE_DIR")


def _server(port: int) -> Any:
    if os.environ.get("LOCAL_MOTO_SERVER") == "werkzeug":
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        return ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    from local_stack.moto_front import Front

    return Front("127.0.0.1", port)


def main() -> None:
    port = int(sys.argv[1])
    state = StateDir(Path(sys.argv[2])) if len(sys.argv) > 2 and sys.argv[2] else None
    # Ctrl-C (and a closed terminal's SIGHUP) reach the whole process group: the parent stops us
    # (closes our stdin) once it is done; a SIGTERM of our own saves and exits
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_fidelity.install()
    saver = None
    checkpoints: dict[str, Any] | None = None
    if state is not None:
        from local_stack import persistence

        persistence.install()
        lock = _hold(state)  # noqa: F841 - held until this process exits
        try:
            checkpoints = persistence.restore(state.snapshot)
        except Exception as exc:
            sys.exit(f"cannot restore {state.snapshot}: {exc}\n`make reset` starts with an empty market")
        saver = persistence.Saver(state.snapshot, SAVE_EVERY_S, report=_say, checkpoints=checkpoints or {})
    server = _server(port)  # after persistence.install(): the front wraps what it patched
    server.start()
    if saver is not None:
        saver.start()
    ready = {"restored": checkpoints is not None, "checkpoints": checkpoints or {}}
    print("ready " + json.dumps(ready), flush=True)
    try:
        for line in sys.stdin:  # runs until the parent closes our stdin (or dies)
            command = json.loads(line)
            if saver is not None and "checkpoint" in command:
                saver.checkpoint(*command["checkpoint"])
    finally:
        if saver is not None:
            stats = saver.close()
            if stats is not None:
                _say(
                    f"local state saved to {state.path if state else ''}: {stats.items} items, "
                    f"{stats.stream_records} stream records, {stats.messages} messages, "
                    f"{stats.size_bytes / 1e6:.1f} MB in {stats.pause_ms + stats.write_ms:.0f} ms"
                )
        server.stop()


class MotoProcess:
    """The parent's handle on the moto process."""

    def __init__(
        self, port: int, root: Path, state: StateDir | None, env: Mapping[str, str | None] | None = None
    ) -> None:
        """``env``: variables set (a value) or unset (None) for the child only, e.g. the old server
        (``LOCAL_MOTO_SERVER=werkzeug``, ``LOCAL_MOTO_SPEED=0``) for a comparison."""
        args = [sys.executable, "-m", "local_stack.moto_process", str(port)]
        if state is not None:
            args.append(str(state.path))
        child_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args, cwd=root, env=child_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("ready"):
            self.process.kill()
            raise RuntimeError("moto did not start")
        hello = json.loads(line.removeprefix("ready").strip() or "{}")
        self.restored: bool = bool(hello.get("restored"))
        self.checkpoints: dict[str, dict[str, str]] = hello.get("checkpoints", {})
        self._write_lock = threading.Lock()

    def poll(self) -> int | None:
        return self.process.poll()

    def checkpoint(self, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        """The stream poller delivered every record of the shard up to this one."""
        self._send({"checkpoint": [stream_arn, shard_id, sequence_number]})

    def _send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        with self._write_lock:
            try:
                self.process.stdin.write(json.dumps(command) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # the moto process is gone; the stack's ready() says so

    def stop(self, timeout: float = 60) -> None:
        """Close its stdin: it saves (when it has a state folder) and exits."""
        assert self.process.stdin is not None
        with self._write_lock, contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()


if __name__ == "__main__":
    main()
