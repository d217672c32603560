"""Lambda entry point of the scheduler (EventBridge, every minute): expiries and the pending sweep."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.observability import logger, metrics, tracer
from exchange.settings import SchedulerSettings
from exchange.usecases.scheduling import Sweeper

settings = SchedulerSettings()  # type: ignore[call-arg]
sweeper = Sweeper(
    ExchangeStore(settings.TABLE_NAME),
    OrdersQueue(settings.ORDERS_QUEUE_URL),
    settings.MARKET_CLOSE_MINUTE_UTC,
    settings.PENDING_GRACE_SECONDS * 1000,
)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    expired = sweeper.expire_day_orders()
    requeued = sweeper.requeue_pending()
    logger.info("sweep done", expired=expired, requeued=requeued)
    return {"expired": expired, "requeued": requeued}
