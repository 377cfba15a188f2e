"""Deliveries: makes outbound webhook delivery attempts from the webhook queue, reporting partial
batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.deliver_webhooks import DeliverWebhookDeps, DeliveryMessage, deliver


class DeliveryRecord(SqsRecordModel):
    body: Json[DeliveryMessage]


processor = BatchProcessor(event_type=EventType.SQS, model=DeliveryRecord)


def handle_record(record: DeliveryRecord) -> None:
    services = get_services()
    status = deliver(services.dependencies(DeliverWebhookDeps), record.body)
    logger.info(
        "webhook delivery step",
        extra={
            "message_id": record.body.message_id,
            "attempt": record.body.attempt,
            "status": status.value if status else None,
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )


prepare("deliveries")
