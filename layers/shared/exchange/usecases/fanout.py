"""Posting one stream batch's events to their connections: in parallel across connections, in order
within one.

Every connection gets its own ordered list of (record index, message); a bounded pool of workers
takes one connection at a time and posts its list front to back, so a slow connection holds one
worker, never the others, and a connection sees its events in the order they were produced. The
outcome keeps the notifier's contract with the stream: the first record whose events did not all
reach their live subscribers is reported (``failed``), and nothing of a later record is posted once
a failure is known (the stream redelivers from the failed record; what a connection got of it
before comes again, identically). A connection that is gone is dropped (``on_gone``) and gets
nothing more. An exception that is not an ``Exception`` (a dying process) stops every worker and
is raised to the caller.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from exchange.adapters.connections import ConnectionGone
from exchange.observability import logger

Send = tuple[int, bytes]  # (index of the stream record the event came from, the message)


class Pusher(Protocol):
    def send(self, connection_id: str, data: bytes) -> None: ...


@dataclass(frozen=True)
class FanOut:
    """What a batch's posting came to."""

    sent: int
    failed: int | None  # index of the first record not delivered to all its subscribers; None: all were
    gone: tuple[str, ...] = ()  # connections found gone (and dropped)


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    failed: int | None = None
    gone: list[str] = field(default_factory=list)
    died: BaseException | None = None

    def skip(self, record: int) -> bool:
        # unlocked reads: a stale value only posts one more event that the redelivery repeats anyway
        return self.died is not None or (self.failed is not None and record > self.failed)

    def fail(self, record: int) -> None:
        with self.lock:
            self.failed = record if self.failed is None else min(self.failed, record)


def post_in_order(
    pusher: Pusher,
    sends: Mapping[str, Sequence[Send]],
    on_gone: Callable[[str], None],
    *,
    workers: int,
) -> FanOut:
    """Post every connection's messages in order; up to ``workers`` connections at a time
    (``workers`` 1: one after another in the caller's thread, the notifier's old behaviour)."""
    state = _State()

    def run(connection_id: str, queue: Sequence[Send]) -> None:
        for record, data in queue:
            if state.skip(record):
                return
            try:
                pusher.send(connection_id, data)
            except ConnectionGone:
                logger.info("connection gone", connection_id=connection_id)
                try:
                    on_gone(connection_id)
                except Exception:
                    logger.exception("dropping a gone connection failed", connection_id=connection_id)
                    state.fail(record)
                with state.lock:
                    state.gone.append(connection_id)
                return
            except Exception:
                logger.exception("post failed", connection_id=connection_id, record=record)
                state.fail(record)
                return
            except BaseException as exc:  # the process dies: so does every other worker
                state.died = exc
                raise
            with state.lock:
                state.sent += 1

    pool_size = min(workers, len(sends))
    if pool_size <= 1:
        for connection_id, queue in sends.items():
            run(connection_id, queue)
    else:
        from concurrent.futures import ThreadPoolExecutor  # here: not on the cold start's path

        with ThreadPoolExecutor(pool_size, thread_name_prefix="fanout") as pool:
            # each worker runs in a copy of the caller's context (one copy per task: a context can
            # be entered by one thread at a time), as the invocation's own code would
            futures = [
                pool.submit(contextvars.copy_context().run, run, connection_id, queue)
                for connection_id, queue in sends.items()
            ]
        for future in futures:
            exc = future.exception()
            if exc is not None and not isinstance(exc, Exception):
                raise exc
    return FanOut(state.sent, state.failed, tuple(state.gone))
