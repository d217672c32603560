"""Lambda entry point of the REST api: the FastAPI app behind Mangum."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from api_app.main import create_app
from exchange.observability import logger, metrics, tracer

app = create_app()
app.state.services.ensure_first_admin()
_mangum = Mangum(app, lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _mangum(event, context)  # type: ignore[arg-type,return-value]
