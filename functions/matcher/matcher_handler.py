"""Lambda entry point of the matcher: SQS FIFO batches (<= 10 messages, possibly several stocks).

Each stock's messages of the batch are matched and settled together, in order; a stock that fails
reports its messages as failed (Powertools' FIFO processor with skip_group_on_error), so SQS
redelivers exactly that stock's messages, still in order, and other stocks are not held back.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from exchange.adapters.matcher_store import DynamoMatcherStore
from exchange.observability import logger, metrics, tracer
from exchange.settings import MatcherSettings
from exchange.usecases.matching import Matcher, Message

settings = MatcherSettings()  # type: ignore[call-arg]
matcher = Matcher(DynamoMatcherStore(settings.TABLE_NAME), close_minute_utc=settings.MARKET_CLOSE_MINUTE_UTC)


class StockBatchFailed(Exception):
    pass


def _message(record: dict[str, Any]) -> Message:
    body = json.loads(record["body"])
    return Message(
        kind=body["kind"], symbol=body["symbol"], order_id=body["order_id"], user_id=body["user_id"]
    )


def match_batch(records: list[dict[str, Any]]) -> set[str]:
    """Match every stock's messages; returns the message groups (symbols) that failed."""
    groups: dict[str, list[Message]] = {}
    for record in records:
        groups.setdefault(record["attributes"]["MessageGroupId"], []).append(_message(record))
    failed = set()
    for symbol, messages in groups.items():
        try:
            matcher.process(symbol, messages)
        except Exception:
            logger.exception("stock batch failed", symbol=symbol, messages=len(messages))
            failed.add(symbol)
    return failed


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = match_batch(event["Records"])
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=len(event["Records"]))
    if failed:
        metrics.add_metric(name="StocksFailed", unit=MetricUnit.Count, value=len(failed))

    def record_handler(record: SQSRecord) -> None:
        if record.attributes.message_group_id in failed:
            raise StockBatchFailed(record.attributes.message_group_id)

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # a batch whose stocks all failed is still a partial response, not an invocation error
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
