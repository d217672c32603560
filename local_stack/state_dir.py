"""The local stack's state folder (`LOCAL_STATE_DIR`, default `.local/state`): what survives a restart.

* `moto.pickle`  - moto's DynamoDB and SQS backends and the stream pollers' checkpoints, written by
  the moto process (local_stack/persistence.py) atomically: a temporary file, fsync, rename;
* `jwt_secret`   - the signing key of access tokens and refresh cookies, so sessions survive too;
* `lock`         - held (flock) by the moto process that owns the folder: a second stack waits for
  the first to finish its last save, and `make reset` refuses while a stack runs.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SNAPSHOT = "moto.pickle"
JWT_SECRET = "jwt_secret"
LOCK = "lock"


class StateDirBusy(RuntimeError):
    """Another local stack holds the state folder."""


@dataclass(frozen=True)
class StateDir:
    path: Path

    @property
    def snapshot(self) -> Path:
        return self.path / SNAPSHOT

    def create(self) -> StateDir:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    def lock(self, wait_s: float = 0.0) -> IO[str]:
        """Hold the folder for this process's lifetime (released when the process exits, even by kill -9)."""
        self.create()
        handle = (self.path / LOCK).open("w")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise StateDirBusy(f"{self.path} is held by another local stack") from None
                time.sleep(0.1)

    def jwt_secret(self) -> str:
        """The stack's signing key: made once, then read back at every start."""
        path = self.create().path / JWT_SECRET
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret

    def reset(self) -> None:
        """Forget everything (`make reset`); refused while a local stack holds the folder."""
        if not self.path.exists():
            return
        handle = self.lock()
        try:
            for child in self.path.iterdir():
                if child.name == LOCK:
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        finally:
            handle.close()
