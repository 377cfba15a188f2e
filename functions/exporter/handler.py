"""Exporter: builds "download my data" archives from the export queue, reporting partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.usecases.build_export import BuildExportDeps, ExportMessage, build_export


class ExportRecord(SqsRecordModel):
    body: Json[ExportMessage]


processor = BatchProcessor(event_type=EventType.SQS, model=ExportRecord)


def handle_record(record: ExportRecord) -> None:
    services = get_services()
    status = build_export(
        services.dependencies(BuildExportDeps),
        record.body,
        receive_count=int(record.attributes.ApproximateReceiveCount),
    )
    logger.info("export step", extra={"export_id": record.body.export_id, "status": status.value if status else None})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
