"""Loading the template's functions in this process and calling them like Lambda does.

An invocation runs under ``faults.running(logical id)``, so injected faults know which function
calls. A ``LambdaCrash`` (an injected process death) fails the invocation as a crash does on
Lambda: the caller sees ``FunctionCrashed`` (the pollers then treat the whole batch as failed) and
the next invocation gets a fresh container (the handler module imported anew: its in-memory caches
are gone).

On Lambda each function has a process, an environment and a logger of its own; here they share all
three. What differs between them and is read per log line, the Powertools service name (each
function's POWERTOOLS_SERVICE_NAME in template.yaml) and the keys ``inject_lambda_context`` adds
(function name, request id, cold start), is set for the invocation only, in Powertools' context-local
log keys (``log_context``), which win over the keys of the one shared logger: each line names the
function that wrote it, whatever runs beside it in other threads.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aws_lambda_powertools.logging.formatter import THREAD_LOCAL_KEYS
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model

from local_stack.faults import LambdaCrash, running
from local_stack.template import Function

# the functions' variables that differ between them: applied per invocation, never to the process
PER_INVOCATION = frozenset({"POWERTOOLS_SERVICE_NAME"})


class FunctionCrashed(RuntimeError):
    """The invocation died (an injected crash): no response, like a Lambda whose process exited."""


@dataclass
class LambdaContext:
    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function of the template: its module imported once (cold start), invoked many times."""

    def __init__(self, fn: Function) -> None:
        self.fn = fn
        self.module_name, self.attr = fn.handler.rsplit(".", 1)
        if str(fn.code_dir) not in sys.path:
            sys.path.insert(0, str(fn.code_dir))
        self.service = fn.environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        self.cold_starts = 0
        self.crashes = 0
        self._warm = False
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        path = self.fn.code_dir / f"{self.module_name}.py"
        spec = importlib.util.spec_from_file_location(self.module_name, path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        spec.loader.exec_module(module)
        self.module: ModuleType = module
        self.handler = getattr(module, self.attr)
        self.cold_starts += 1
        self._warm = False

    @contextmanager
    def log_context(self, context: LambdaContext | None = None) -> Iterator[LambdaContext]:
        """Log lines written inside carry this function's service name and the invocation's keys,
        as they would on Lambda (``context``: the invocation's; None: a new one, e.g. an api request
        that uvicorn serves without the handler)."""
        context = context or LambdaContext(self.fn.logical_id, self.fn.timeout)
        cold, self._warm = not self._warm, True
        keys = {"service": self.service, "cold_start": cold, **build_lambda_context_model(context).__dict__}
        token = THREAD_LOCAL_KEYS.set({**THREAD_LOCAL_KEYS.get(), **keys})
        try:
            yield context
        finally:
            THREAD_LOCAL_KEYS.reset(token)

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self.handler
        try:
            with running(self.fn.logical_id) as invocation, self.log_context() as context:
                result = handler(event, context)
                invocation.finish()  # a crash planned for this invocation and not reached yet
                return result
        except LambdaCrash as crash:
            with self._lock:
                self.crashes += 1
                if self.handler is handler:  # a new container, once, whoever crashed in the old one
                    self._load()
            raise FunctionCrashed(f"{self.fn.logical_id}: {crash}") from None
