"""Meta: the health check, the OpenAPI document and the Swagger UI. No sign-in."""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from atelier.api import docs_page, openapi
from atelier.api.access import Access
from atelier.api.resolver import make_resolver, serve
from atelier.observability import logger, metrics, tracer
from atelier.settings import get_settings
from atelier.snapstart import prepare

app = make_resolver()


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str


@app.get(
    "/v1/health",
    operation_id="getHealth",
    description="Answers 200 with the deployed version while the API is up. No sign-in needed.",
    access=Access.public(),
    summary="Health check",
    tags=["meta"],
)
def get_health() -> HealthResponse:
    return HealthResponse(status="ok", version=get_settings().platform.version)


# Raw responses: these two are not JSON models, so they stay out of the document they serve.
@app.get("/v1/openapi.json", access=Access.public(), include_in_schema=False)
def get_openapi_document():
    event = app.current_event
    document = openapi.document_for(openapi.server_url(event.request_context.path, "/v1/openapi.json"))
    return Response(status_code=200, content_type="application/json", body=json.dumps(document))


@app.get("/v1/docs", access=Access.public(), include_in_schema=False)
def get_docs_page():
    page, policy = docs_page.render_docs_page()
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=page,
        headers={"Content-Security-Policy": policy, "Cache-Control": "public, max-age=300"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("meta", resolver=app)
