"""API Gateway REST (v1 proxy) events and a Lambda context, for invoking handlers in-process."""

from __future__ import annotations

import uuid
from typing import Any


class FakeLambdaContext:
    function_name = "atelier-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:atelier-test"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/atelier-test"
    log_stream_name = "test"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "203.0.113.7",
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "test",
            "path": path,
            "resourcePath": resource or path,
            "httpMethod": method,
            "identity": {"sourceIp": source_ip},
        },
        "body": body,
        "isBase64Encoded": False,
    }
