"""Counts every AWS call the local stack's functions make (``LOCAL_CALL_COUNTS=path``), for the load
benchmark's "AWS calls per order" table.

A botocore ``before-call`` hook on boto3's default session (every client of the functions comes from
it, see ``faults.install``) counts each call by the function running it (the context variable
``faults.running`` sets: ApiFunction, MatcherFunction, ...; calls made by the local stack's own
pollers and seeding run under no function and are counted as ``(event sources)``), service and
operation; ``LocalFunction.invoke`` is wrapped to count invocations. A daemon thread writes the
counts, as JSON, to the path every ``every_s`` seconds and at exit (written to a temporary file and
renamed: a reader never sees half a file). Nothing is counted unless the variable is set.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from local_stack import faults

EVENT_SOURCES = "(event sources)"  # calls made under no function: the pollers, seeding
ENV = "LOCAL_CALL_COUNTS"


class CallCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (function, service, operation)
        self.invocations: Counter[str] = Counter()

    def on_call(self, model: Any, **_: Any) -> None:
        key = (faults.current_function() or EVENT_SOURCES, model.service_model.service_name, model.name)
        with self._lock:
            self.calls[key] += 1

    def on_invoke(self, function: str) -> None:
        with self._lock:
            self.invocations[function] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": [[f, s, o, n] for (f, s, o), n in sorted(self.calls.items())],
                "invocations": dict(sorted(self.invocations.items())),
            }

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.snapshot()))
        os.replace(tmp, path)


COUNTS = CallCounts()
_installed = False


def install(events: Any) -> CallCounts:
    """Count the calls of every client made from ``events`` (a botocore event emitter) from now on,
    and the invocations of every ``LocalFunction``. Idempotent."""
    global _installed
    events.register("before-call", COUNTS.on_call, unique_id="local-call-counts")
    if not _installed:
        from local_stack.lambda_runtime import LocalFunction

        invoke = LocalFunction.invoke

        def counted(self: LocalFunction, event: dict[str, Any]) -> Any:
            COUNTS.on_invoke(self.fn.logical_id)
            return invoke(self, event)

        LocalFunction.invoke = counted  # type: ignore[method-assign]
        _installed = True
    return COUNTS


def install_from_env(env: dict[str, str] | None = None, every_s: float = 0.5) -> CallCounts | None:
    """With ``LOCAL_CALL_COUNTS`` set: install on boto3's default session and keep the file fresh."""
    value = (env if env is not None else os.environ).get(ENV, "")
    if not value:
        return None
    import boto3

    path = Path(value)
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    counts = install(boto3.DEFAULT_SESSION.events)
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.wait(every_s):
            counts.write(path)

    threading.Thread(target=keep_writing, name="call-counts", daemon=True).start()

    def last_write() -> None:
        stop.set()
        counts.write(path)

    atexit.register(last_write)
    counts.write(path)
    return counts
