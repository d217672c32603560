"""Lambda entry point of the matcher: SQS FIFO batches (<= 10 messages, possibly several stocks).

Powertools' FIFO processor calls ``record_handler`` once per record, in order; with
``skip_group_on_error`` the first record of a stock that fails fails every later record of that
stock, so SQS redelivers exactly that stock's messages, still in order, and other stocks are not
held back. Each record is parsed with the queue's one schema (``exchange.messages``): a body that
does not parse (not JSON, an unknown kind, a missing field, another stock's symbol) is poison and
fails only its own group, and after maxReceiveCount it goes to the DLQ.

A stock's messages of the batch are matched and settled together (one match, as few commits as
possible): the handler does that on the stock's first record, for the run of its records up to the
first poison one, and answers the later records of the run from that outcome.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from exchange.adapters.matcher_store import DynamoMatcherStore
from exchange.messages import PoisonMessage, parse_body
from exchange.observability import logger, metrics, tracer
from exchange.settings import MatcherSettings
from exchange.usecases.matching import Matcher, Message

settings = MatcherSettings()  # type: ignore[call-arg]
matcher = Matcher(DynamoMatcherStore(settings.TABLE_NAME), close_minute_utc=settings.MARKET_CLOSE_MINUTE_UTC)


def message_of(body: str, group: str) -> Message:
    """One record's body as the matcher's message; ``PoisonMessage`` if it is not one of this group."""
    m = parse_body(body)
    if m.symbol != group:
        raise PoisonMessage(f"a message for {m.symbol} in the group of {group}")
    return Message(kind=m.kind, symbol=m.symbol, order_id=m.order_id, user_id=m.user_id, reason=m.reason)


class StockRuns:
    """Per batch: each stock's run of parseable messages, matched once on the stock's first record."""

    def __init__(self, records: list[dict[str, Any]], matcher: Matcher) -> None:
        self.records = records
        self.matcher = matcher
        self.handled: dict[str, set[str]] = {}  # group -> message ids matched in its run
        self.failed_stocks = 0

    def _run(self, group: str) -> list[tuple[str, Message]]:
        run = []
        for r in self.records:
            if r["attributes"]["MessageGroupId"] != group:
                continue
            try:
                run.append((r["messageId"], message_of(r["body"], group)))
            except PoisonMessage:
                break  # it and the group's later records fail (skip_group_on_error)
        return run

    def handle(self, record: SQSRecord) -> None:
        group = record.attributes.message_group_id or ""
        if group not in self.handled:
            run = self._run(group)
            self.handled[group] = {mid for mid, _ in run}
            if run:
                try:
                    self.matcher.process(group, [m for _, m in run])
                except Exception:
                    self.failed_stocks += 1
                    logger.exception("stock batch failed", symbol=group, messages=len(run))
                    raise
        if record.message_id not in self.handled[group]:
            try:
                message_of(record.body, group)
            except PoisonMessage:
                self.failed_stocks += 1
                logger.error("poison message", message_id=record.message_id, symbol=group)
                raise


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runs = StockRuns(event["Records"], matcher)
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # a batch whose stocks all failed is still a partial response, not an invocation error
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(
        event=event, record_handler=runs.handle, processor=processor, context=context
    )
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=len(event["Records"]))
    if runs.failed_stocks:
        metrics.add_metric(name="StocksFailed", unit=MetricUnit.Count, value=runs.failed_stocks)
    return response
