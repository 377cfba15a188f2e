"""Notices: emails account holders about a new policy version, one page of one account shard per
message, reporting partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.publish_policy import PolicyNoticeMessage, SendPolicyNoticesDeps, send_policy_notices


class PolicyNoticeRecord(SqsRecordModel):
    body: Json[PolicyNoticeMessage]


processor = BatchProcessor(event_type=EventType.SQS, model=PolicyNoticeRecord)


def handle_record(record: PolicyNoticeRecord) -> None:
    services = get_services()
    emailed = send_policy_notices(services.dependencies(SendPolicyNoticesDeps), record.body)
    logger.info("policy notices sent", extra={"shard": record.body.shard, "emailed": emailed})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )


prepare("notices")
