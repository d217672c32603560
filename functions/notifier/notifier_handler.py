"""Lambda entry point of the notifier: DynamoDB stream batches -> WebSocket events.

A batch's events are posted in parallel across connections, in record order within each
(``Notifier.notify``); the first record that failed is reported (with every later one) so the
stream retries from there (ReportBatchItemFailures, bisect on error, on-failure destination).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from exchange.adapters.connections import ConnectionPusher, ConnectionStore
from exchange.adapters.dynamo import from_item
from exchange.adapters.exchange_store import ExchangeStore
from exchange.observability import logger, metrics, tracer
from exchange.settings import NotifierSettings
from exchange.usecases.notifications import Change, Notifier

settings = NotifierSettings()  # type: ignore[call-arg]
store = ExchangeStore(settings.TABLE_NAME)
notifier = Notifier(
    store,
    ConnectionStore(settings.CONNECTIONS_TABLE_NAME),
    ConnectionPusher(settings.WS_MANAGEMENT_ENDPOINT, connections=settings.NOTIFIER_POST_WORKERS),
    workers=settings.NOTIFIER_POST_WORKERS,
)


def _change(record: dict[str, Any]) -> Change:
    ddb = record.get("dynamodb", {})
    old, new = ddb.get("OldImage"), ddb.get("NewImage")
    return Change(record["eventName"], from_item(old) if old else None, from_item(new) if new else None)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event["Records"]
    changes: list[Change] = []
    for record in records:
        try:
            changes.append(_change(record))
        except Exception:
            logger.exception("record unreadable", sequence=record["dynamodb"].get("SequenceNumber"))
            break
    out = notifier.notify(changes)
    metrics.add_metric(name="EventsSent", unit=MetricUnit.Count, value=out.sent)
    failed = out.failed if out.failed is not None else len(changes)
    if failed < len(records):
        sequence = records[failed]["dynamodb"]["SequenceNumber"]
        logger.warning("batch failed from a record", sequence=sequence, posted=out.sent)
        return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
