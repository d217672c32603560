"""The local stack's logs: several functions in one process, one Powertools logger, and yet each line
names the function that wrote it (lambda_runtime.LocalFunction.log_context); the console's line format
(console_log.py)."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.console_log import ConsoleFormatter, install
from local_stack.lambda_runtime import LocalFunction
from local_stack.template import Function

SHARED = """
import io
from aws_lambda_powertools import Logger
STREAM = io.StringIO()
logger = Logger(service="ux-shared-{name}", stream=STREAM)
"""
HANDLER = """
from ux_shared_log import logger

@logger.inject_lambda_context
def lambda_handler(event, context):
    event["started"].wait(5)
    for i in range(event["lines"]):
        logger.info("tick", i=i)
"""


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[tuple[dict[str, LocalFunction], Any]]:
    """Two functions whose handlers log through one shared logger, as the local stack's do."""
    # a logger name of its own per test: the logging module keeps a logger (and its handler) by name
    (tmp_path / "ux_shared_log.py").write_text(SHARED.format(name=tmp_path.name))
    sys.path.insert(0, str(tmp_path))
    loaded = {}
    for name in ("alpha", "beta"):
        code = tmp_path / name
        code.mkdir()
        (code / f"ux_{name}_handler.py").write_text(textwrap.dedent(HANDLER))
        fn = Function(
            logical_id=f"{name.title()}Function",
            code_dir=code,
            handler=f"ux_{name}_handler.lambda_handler",
            environment={"POWERTOOLS_SERVICE_NAME": f"exchange-{name}"},
            timeout=3,
        )
        loaded[name] = LocalFunction(fn)
    shared = sys.modules["ux_shared_log"]
    yield loaded, shared
    for module in ("ux_shared_log", "ux_alpha_handler", "ux_beta_handler"):
        sys.modules.pop(module, None)
    sys.path.remove(str(tmp_path))


def _invoke_together(functions: dict[str, LocalFunction], lines: int) -> None:
    started = threading.Event()
    threads = [
        threading.Thread(target=fn.invoke, args=({"started": started, "lines": lines},))
        for fn in functions.values()
    ]
    for t in threads:
        t.start()
    started.set()
    for t in threads:
        t.join(10)


def test_functions_logging_at_once_through_one_logger_each_name_themselves(
    functions: tuple[dict[str, LocalFunction], Any],
) -> None:
    loaded, shared = functions
    # When two functions log at the same time in two threads through the one logger (JSON, as on AWS)
    _invoke_together(loaded, lines=200)
    # Then every line carries its own function's service name and Lambda context keys
    records = [json.loads(line) for line in shared.STREAM.getvalue().splitlines()]
    assert len(records) == 400
    for record in records:
        name = record["function_name"].removesuffix("Function").lower()
        assert record["service"] == f"exchange-{name}", record
        assert record["function_arn"].endswith(f":function:{record['function_name']}")
    assert {r["service"] for r in records} == {"exchange-alpha", "exchange-beta"}
    # the first invocation of each function is its cold start, and only that one
    cold = [r for r in records if r["cold_start"]]
    assert {r["service"] for r in cold} == {"exchange-alpha", "exchange-beta"}
    shared.STREAM.truncate(0)
    shared.STREAM.seek(0)
    _invoke_together(loaded, lines=1)
    assert not any(json.loads(line)["cold_start"] for line in shared.STREAM.getvalue().splitlines())


def test_outside_invoke_a_log_context_names_the_function_too(
    functions: tuple[dict[str, LocalFunction], Any],
) -> None:
    # (the api's requests: uvicorn serves its app, not its handler)
    loaded, shared = functions
    _invoke_together(loaded, lines=1)
    shared.STREAM.truncate(0)
    shared.STREAM.seek(0)
    with loaded["beta"].log_context():
        shared.logger.info("inside")
    line = json.loads(shared.STREAM.getvalue())
    assert (line["service"], line["function_name"]) == ("exchange-beta", "BetaFunction")


def test_the_console_line_is_short_and_readable(functions: tuple[dict[str, LocalFunction], Any]) -> None:
    loaded, shared = functions
    # Given the console format on the functions' logger
    install(shared.logger, level="INFO")
    with loaded["alpha"].log_context():
        shared.logger.info("batch committed", symbol="ACME", version=2, note="two words", ids=[1, 2])
        shared.logger.debug("not shown at INFO")
        try:
            raise ValueError("boom")
        except ValueError:
            shared.logger.exception("stock batch failed", symbol="ACME")
    first, second, *trace = shared.STREAM.getvalue().splitlines()
    # Then: time, level, service, message, keys; nothing that only identifies the invocation
    time_, rest = first.split(" ", 1)
    assert len(time_) == len("14:02:31.415") and time_[2] == ":" and time_[8] == "."
    assert rest == (
        'INFO    exchange-alpha      batch committed  symbol=ACME version=2 note="two words" ids=[1,2]'
    )
    assert second.split(" ", 1)[1] == "ERROR   exchange-alpha      stock batch failed  symbol=ACME"
    assert trace[0] == "    Traceback (most recent call last):" and trace[-1] == "    ValueError: boom"
    # LOG_LEVEL: the level is the one given
    install(shared.logger, level="DEBUG")
    shared.logger.debug("now shown")
    assert shared.STREAM.getvalue().splitlines()[-1].endswith("now shown")


def test_the_console_formatter_is_powertools_own_with_a_line_for_json() -> None:
    # the formatter keeps Powertools' keys (context-local ones included): only the output differs
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    assert issubclass(ConsoleFormatter, LambdaPowertoolsFormatter)
