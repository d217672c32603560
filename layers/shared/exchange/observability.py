"""The one place that creates the Powertools logger, tracer and metrics."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# an invocation that had nothing to count (a ping, an empty batch) is normal here, not a warning
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
