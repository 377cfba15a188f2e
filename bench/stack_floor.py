"""The least an HTTP function on Atelier's stack imports: boto3, Powertools' logger and metrics, a
REST resolver with validation on (as STYLE.md asks), one pydantic response model, one PynamoDB
model, one route. bench/cold_start.py imports it as a second baseline: what any handler written this
way pays before a line of domain code, so that the domain's own share shows apart from the stack's.
"""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (what every function pays anyway)
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

app = APIGatewayRestResolver(enable_validation=True)
logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")


class Item(Model):
    class Meta:
        table_name = "floor"

    pk = UnicodeAttribute(hash_key=True)


class Balance(BaseModel):
    credits: int


@app.get("/v1/billing/balance")
def balance() -> Balance:
    return Balance(credits=0)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
