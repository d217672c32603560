"""Lambda entry point of the notifier: DynamoDB stream batches -> WebSocket events.

Records are handled in order; the first record that fails is reported (with every later one) so
the stream retries from there (ReportBatchItemFailures, bisect on error, on-failure destination).
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
from exchange.usecases.notifications import Change, Notifier, events_for

settings = NotifierSettings()  # type: ignore[call-arg]
store = ExchangeStore(settings.TABLE_NAME)
notifier = Notifier(
    store, ConnectionStore(settings.CONNECTIONS_TABLE_NAME), ConnectionPusher(settings.WS_MANAGEMENT_ENDPOINT)
)


def _change(record: dict[str, Any]) -> Change:
    ddb = record.get("dynamodb", {})
    old, new = ddb.get("OldImage"), ddb.get("NewImage")
    return Change(record["eventName"], from_item(old) if old else None, from_item(new) if new else None)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = 0
    for record in event["Records"]:
        try:
            sent += notifier.deliver(events_for(_change(record), store))
        except Exception:
            logger.exception("record failed", sequence=record["dynamodb"].get("SequenceNumber"))
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    metrics.add_metric(name="EventsSent", unit=MetricUnit.Count, value=sent)
    return {"batchItemFailures": []}
