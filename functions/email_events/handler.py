"""Email events: SES bounces and complaints for the configuration set, delivered through SNS; each
one that says an address must not be written to again is recorded as a suppression."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.record_email_feedback import record_email_feedback


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    services = get_services()
    suppressed = 0
    for record in event.get("Records", []):
        feedback = json.loads(record["Sns"]["Message"])
        suppressed += len(record_email_feedback(feedback, suppressions=services.suppressions, clock=services.clock))
    return {"suppressed": suppressed}


prepare("email_events")
