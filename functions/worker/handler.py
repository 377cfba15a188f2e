"""Worker: runs generation jobs from the generation queue, reporting partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.integrations.resilience import time_budget
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.run_generation import GenerationMessage, RunGenerationDeps, run_generation


class GenerationRecord(SqsRecordModel):
    body: Json[GenerationMessage]


processor = BatchProcessor(event_type=EventType.SQS, model=GenerationRecord)


def handle_record(record: GenerationRecord) -> None:
    deps = get_services().dependencies(RunGenerationDeps)
    status = run_generation(deps, record.body, receive_count=int(record.attributes.ApproximateReceiveCount))
    logger.info("generation step", extra={"job_id": record.body.job_id, "status": status.value if status else None})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Provider retries and in-process waits for a job about to finish stay inside the invocation.
    with time_budget(context.get_remaining_time_in_millis() / 1000):
        return dict(
            process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
        )


prepare("worker")
