"""Loading the template's functions in this process and calling them like Lambda does."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local_stack.template import Function


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
        module_name, self.attr = fn.handler.rsplit(".", 1)
        path = fn.code_dir / f"{module_name}.py"
        if str(fn.code_dir) not in sys.path:
            sys.path.insert(0, str(fn.code_dir))
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader, path
        self.module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = self.module
        spec.loader.exec_module(self.module)
        self.handler = getattr(self.module, self.attr)

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.handler(event, LambdaContext(self.fn.logical_id, self.fn.timeout))
