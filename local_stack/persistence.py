"""Durable local state, inside the moto process: moto's DynamoDB and SQS backends pickled to the state
folder and restored before the server serves.

* One instant: a snapshot holds the DynamoDB request lock (moto_fidelity.DYNAMODB_LOCK) and an SQS
  lock of its own (every SQS request but the long-poll wait of ReceiveMessage) while it pickles, so
  it never sees half a request and never a table, queue or stream out of step with another.
* Stream checkpoints (the last sequence number the parent's stream poller delivered, per shard)
  are sent by the parent over the moto process's stdin and saved in the same snapshot.
* On restore: every message that was in flight becomes visible at once (a kill interrupted its
  consumer; FIFO order is the queue's order, kept), FIFO groups are unblocked, and the stream
  records already delivered are dropped (their sequence numbers are kept: the shard starts later).
"""

from __future__ import annotations

import json
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import moto
from moto.backends import get_backend

from local_stack import moto_fidelity

SERVICES = ("dynamodb", "sqs")
FORMAT = 1
SQS_LOCK = threading.RLock()
# requests that change nothing a snapshot keeps (ReceiveMessage counts: it changes receive counts)
_READS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet")

Checkpoints = dict[str, dict[str, str]]  # stream ARN -> shard id -> last delivered sequence number


class Changes:
    """A generation counter, bumped after every request that changed state."""

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:  # `+=` is not atomic: a stale write could bring back a saved generation
            self.generation += 1


CHANGES = Changes()
_installed = False


def install() -> None:
    """Idempotent; after moto_fidelity.install() (it wraps the same DynamoDB handler)."""
    global _installed
    if _installed:
        return
    moto_fidelity.install()
    _track_dynamodb_writes()
    _serialise_sqs()
    _picklable_models()
    _installed = True


def _track_dynamodb_writes() -> None:
    from moto.dynamodb.responses import DynamoHandler

    locked = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        result = locked(self)
        if not self._get_action().startswith(_READS):
            CHANGES.bump()  # after the request: a snapshot taken before it saw it sees a newer generation
        return result

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _serialise_sqs() -> None:
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    original_call = SQSResponse.call_action
    original_receive = SQSBackend.receive_message

    def call_action(self: Any) -> Any:
        action = self._get_action()
        if action == "ReceiveMessage":  # its backend call locks per pass, not across the long poll
            return original_call(self)
        with SQS_LOCK:
            result = original_call(self)
        if not action.startswith(_READS):
            CHANGES.bump()
        return result

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        deadline = time.monotonic() + int(wait_seconds_timeout or 0)
        while True:
            with SQS_LOCK:
                result = original_receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if result:
                CHANGES.bump()
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return result
            queue = self.get_queue(queue_name)
            with queue._messages_lock:  # woken by a send; a released message is seen within 50 ms
                queue._messages_lock.wait(min(remaining, 0.05))

    SQSResponse.call_action = call_action  # type: ignore[method-assign]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _limited_size_dict(attrs: dict[str, Any]) -> Any:
    """An item's attributes, unpickled without moto's size check, which sums the size of every
    attribute at every insert (quadratic: it made restoring 5,000 items take 4 s instead of 1)."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    restored = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(restored, attrs)
    return restored


def _picklable_models() -> None:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.sqs.models import Queue

    LimitedSizeDict.__reduce__ = lambda self: (_limited_size_dict, (dict(self),))  # type: ignore[method-assign,assignment]

    def __getstate__(self: Any) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_messages_lock"]  # a Condition; made anew on restore
        state["deleted_messages"] = set()  # receipt handles of deleted messages: dead after a restart
        return state

    def __setstate__(self: Any, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._messages_lock = threading.Condition()

    Queue.__getstate__ = __getstate__  # type: ignore[method-assign]
    Queue.__setstate__ = __setstate__  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------- snapshot
@dataclass
class SaveStats:
    pause_ms: float  # requests wait this long (a fork, or the pickling, under the locks)
    write_ms: float  # the pickling (when forked), the file write and fsync, outside the locks
    size_bytes: int
    items: int  # DynamoDB items
    stream_records: int
    messages: int  # SQS messages, all queues


def _backends() -> dict[tuple[str, str, str], Any]:
    found: dict[tuple[str, str, str], Any] = {}
    for service in SERVICES:
        for account, region, backend in get_backend(service).iter_backends():  # type: ignore[call-overload]
            found[(service, account, region)] = backend
    return found


def _moto_version() -> str:
    return str(moto.__version__)


def _counts(backends: dict[tuple[str, str, str], Any]) -> tuple[int, int, int]:
    items = records = messages = 0
    for (service, _, _), backend in backends.items():
        if service == "dynamodb":
            for table in backend.tables.values():
                items += len(table)
                records += len(table.stream_shard.items) if table.stream_shard is not None else 0
        else:
            messages += sum(len(q._messages) for q in backend.queues.values())
    return items, records, messages


def save(path: Path, checkpoints: Checkpoints, *, fork: bool = True) -> SaveStats:
    """One instant of every backend, written atomically. With `fork` (the default) requests wait
    only for a fork(): the child pickles its copy-on-write view of memory and writes it, the way
    Redis' BGSAVE does; without, they wait for the pickling."""
    started = time.perf_counter()
    with moto_fidelity.DYNAMODB_LOCK, SQS_LOCK:
        if not fork:
            stats = _write(path, checkpoints)
            paused = time.perf_counter()
            return _stats(stats, (paused - started) * 1000, 0.0)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only this thread exists here, and nothing but it touches memory
            code = 1
            try:
                os.close(read_end)
                os.write(write_end, json.dumps(_write(path, checkpoints, trim=True)).encode())
                code = 0
            except BaseException:  # straight to fd 2: sys.stderr's lock may be held by a thread now gone
                os.write(2, traceback.format_exc().encode())
            finally:
                os._exit(code)
    paused = time.perf_counter()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as report:
        reported = report.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not reported:
        raise RuntimeError(f"the save process failed (status {status})")
    return _stats(json.loads(reported), (paused - started) * 1000, (time.perf_counter() - paused) * 1000)


def _write(path: Path, checkpoints: Checkpoints, *, trim: bool = False) -> dict[str, int]:
    """`trim` (only in a forked child, whose memory is its own): leave out the stream records
    already delivered, so a save costs the tables and the undelivered records, not the history."""
    backends = _backends()
    if trim:
        checkpoints = {arn: dict(shards) for arn, shards in checkpoints.items()}
        for (service, _, _), backend in backends.items():
            if service == "dynamodb":
                _trim_streams(backend, checkpoints)
    snapshot = {
        "format": FORMAT,
        "moto": _moto_version(),
        "saved_at": time.time(),
        "backends": backends,
        "checkpoints": checkpoints,
    }
    blob = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    items, records, messages = _counts(backends)
    return {"size_bytes": len(blob), "items": items, "stream_records": records, "messages": messages}


def _stats(written: dict[str, int], pause_ms: float, write_ms: float) -> SaveStats:
    return SaveStats(pause_ms=pause_ms, write_ms=write_ms, **written)


def restore(path: Path) -> Checkpoints | None:
    """Load a snapshot into moto's backends (before the server starts); None when there is none."""
    if not path.exists():
        return None
    data = pickle.loads(path.read_bytes())  # noqa: S301 - our own file, in our own state folder
    if data.get("format") != FORMAT or data.get("moto") != _moto_version():
        # moto's objects are pickled as they are: another moto version may not read them right
        raise RuntimeError(
            f"saved by moto {data.get('moto')} (format {data.get('format')}); "
            f"this is moto {_moto_version()} (format {FORMAT})"
        )
    checkpoints: Checkpoints = data["checkpoints"]
    for (service, account, region), backend in data["backends"].items():
        dict.__setitem__(get_backend(service)[account], region, backend)
        if service == "sqs":
            _wake_messages(backend)
        else:
            _trim_streams(backend, checkpoints)
    return checkpoints


def _wake_messages(backend: Any) -> None:
    for queue in backend.queues.values():
        for message in queue._messages:  # in the queue's order, which is each group's order
            message.visible_at = 0.0
        queue._pending_messages = set()


def stream_arn(table: Any) -> str:
    return f"{table.table_arn}/stream/{table.latest_stream_label}"


def _trim_streams(backend: Any, checkpoints: Checkpoints) -> None:
    """Drop what the poller had delivered; clamp each checkpoint to the records the shard holds."""
    for table in backend.tables.values():
        shard = table.stream_shard
        if shard is None:
            continue
        positions = checkpoints.get(stream_arn(table), {})
        if shard.id not in positions:
            continue
        delivered = int(positions[shard.id]) - shard.starting_sequence_number + 1
        delivered = max(0, min(delivered, len(shard.items)))
        del shard.items[:delivered]
        shard.starting_sequence_number += delivered
        positions[shard.id] = str(shard.starting_sequence_number - 1)  # the records kept come after it


# ---------------------------------------------------------------------------------------- saver
@dataclass
class Saver:
    """Saves every `every_s` when something changed, and once more at `close()`."""

    path: Path
    every_s: float = 2.0
    report: Callable[[str], None] = print
    checkpoints: Checkpoints = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._saved_generation = -1
        self._checkpoint_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-saver", daemon=True)
        self.saves = 0
        self.last: SaveStats | None = None

    def start(self) -> Saver:
        self._saved_generation = CHANGES.generation  # what was just restored is on disk already
        self._thread.start()
        return self

    def checkpoint(self, arn: str, shard_id: str, sequence_number: str) -> None:
        with self._checkpoint_lock:
            self.checkpoints.setdefault(arn, {})[shard_id] = sequence_number
        CHANGES.bump()

    def save_if_changed(self) -> SaveStats | None:
        generation = CHANGES.generation  # read before the locks: a later change makes a later save
        if generation == self._saved_generation:
            return None
        with self._checkpoint_lock:
            checkpoints = {arn: dict(shards) for arn, shards in self.checkpoints.items()}
        self.last = save(self.path, checkpoints)
        self._saved_generation = generation
        self.saves += 1
        return self.last

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.save_if_changed()
            except Exception as exc:  # keep saving later; say so now
                self.report(f"local state: save failed: {exc!r}")

    def close(self) -> SaveStats | None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.save_if_changed()
