"""The one place that creates the Powertools logger, tracer and metrics.

The tracer is Powertools' ``Tracer`` only where tracing is on (on Lambda, ``Tracing: Active``):
``Tracer()`` imports the X-Ray SDK (and with it botocore's session machinery) even when tracing is
off, ~120 ms of every cold start. Where Powertools would disable it anyway (POWERTOOLS_TRACE_DISABLED,
or not on Lambda: the local stack, the tests) the handlers get ``NoTracer``, whose decorator leaves
the handler as it is, which is what a disabled ``Tracer`` amounts to.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.tracing.tracer import Tracer

# an invocation that had nothing to count (a ping, an empty batch) is normal here, not a warning
warnings.filterwarnings("ignore", message="No application metrics to publish")


class NoTracer:
    """What the handlers use of ``Tracer`` when tracing is off: nothing is recorded."""

    disabled = True

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        if lambda_handler is None:
            return lambda handler: handler
        return lambda_handler


def tracing_enabled() -> bool:
    """Powertools' own rule: on Lambda (not SAM local) and POWERTOOLS_TRACE_DISABLED not set."""
    return not Tracer._is_tracer_disabled()


logger = Logger()
tracer: Tracer | NoTracer = Tracer() if tracing_enabled() else NoTracer()
metrics = Metrics()
