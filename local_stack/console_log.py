"""The local stack's console: one short line per log record, for a person reading a terminal.

On AWS the functions log Powertools' JSON (one object per line, for CloudWatch Logs Insights), and
that does not change: this formatter is set on the functions' logger by the local stack only, after
it has imported them. A line is the time, the level, the function's service name, the message and
its keys:

    14:02:31.415 INFO    exchange-matcher    batch committed  symbol=ACME version=2 trades=1 orders=2 ops=6

The keys that only identify the invocation (function name, ARN, memory, request id, cold start,
sampling rate, X-Ray id, the code location) are left out; an exception follows on indented lines.
``LOCAL_LOG_FORMAT=json`` keeps the JSON lines locally (to pipe them into ``jq``); ``LOG_LEVEL``
sets the level (function_settings.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

FORMATS = ("console", "json")
# the keys of every line that the console shows in its fixed columns, or not at all
_NOT_SHOWN = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception",
        "exception_name",
        "exception_notes",
        "stack_trace",
    }
)
SERVICE_WIDTH = len("exchange-scheduler")


def local_log_format(value: str | None) -> str:
    """``LOCAL_LOG_FORMAT``: console (the default) or json; ValueError (one line) otherwise."""
    chosen = (value or "console").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"LOCAL_LOG_FORMAT={value!r}: must be one of {', '.join(FORMATS)}")
    return chosen


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() or c in '"=' for c in value) else json.dumps(value)
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


class ConsoleFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter (its keys, context-local keys included) printed as one human line."""

    def __init__(self) -> None:
        super().__init__(datefmt="%H:%M:%S.%F", serialize_stacktrace=False)

    def serialize(self, log: dict[str, Any]) -> str:
        message = log.get("message", "")
        text = message if isinstance(message, str) else _value(message)
        keys = " ".join(f"{k}={_value(v)}" for k, v in log.items() if k not in _NOT_SHOWN)
        line = (
            f"{log.get('timestamp', '')} {log.get('level', ''):<7} "
            f"{log.get('service', ''):<{SERVICE_WIDTH}}  {text}"
        )
        if keys:
            line += f"  {keys}"
        exception = log.get("exception")
        if exception:
            line += "\n" + "\n".join(f"    {row}" for row in str(exception).splitlines())
        return line


def install(logger: Any, *, level: str | int, log_format: str = "console") -> None:
    """Set the functions' Powertools ``logger`` (their one logger in this process) to ``level`` and,
    for ``console``, to the console format."""
    if log_format == "console":
        handler: logging.Handler = logger.registered_handler
        handler.setFormatter(ConsoleFormatter())
    logger.setLevel(level)
