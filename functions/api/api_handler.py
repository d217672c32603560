"""Lambda entry point of the REST api: the FastAPI app behind Mangum.

Importing this module touches no AWS service (a cold start that needs no network): the app's
services make their clients and read their secrets on first use, and the configured first admin is
made sure of on the container's first invocation (``ensure_first_admin``), not at import.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from api_app.main import create_app
from exchange.observability import logger, metrics, tracer

app = create_app()
_mangum = Mangum(app, lifespan="off")
_first_admin = threading.Lock()
_first_admin_done = False


def ensure_first_admin() -> None:
    """Once per container: the admin of the configuration exists (reads its password secret).

    Idempotent; a failure leaves it to the next invocation. The local stack, which serves ``app``
    itself rather than through ``lambda_handler``, calls it at start-up."""
    global _first_admin_done
    with _first_admin:
        if not _first_admin_done:
            app.state.services.ensure_first_admin()
            _first_admin_done = True


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not _first_admin_done:
        ensure_first_admin()
    return _mangum(event, context)  # type: ignore[arg-type,return-value]
