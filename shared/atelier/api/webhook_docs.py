"""The OpenAPI 3.1 `webhooks`: the events Atelier posts to an account's endpoints, from the payload
models the delivery use case builds them with (`atelier.models.webhooks`)."""

from __future__ import annotations

from typing import Any

from atelier.api.examples import EXAMPLE_TIME, example_id
from atelier.ids import IdPrefix
from atelier.models.webhooks import PAYLOAD_MODELS, WebhookEventType

_DESCRIPTIONS: dict[WebhookEventType, str] = {
    WebhookEventType.JOB_SUCCEEDED: "A job finished and its outputs are in the library (`data.outputs`: asset ids).",
    WebhookEventType.JOB_FAILED: "A job failed; its hold was released (`data.error` says why).",
    WebhookEventType.JOB_CANCELED: "A job was canceled, by its owner or at its deadline (`Cancel-After`); its "
    "hold was released.",
    WebhookEventType.EXPORT_READY: "The data export is ready to download, signed in, until `data.expires_at`.",
    WebhookEventType.EXPORT_FAILED: "The data export could not be built; request another.",
    WebhookEventType.CREDITS_LOW: "A new job took the balance from at least the endpoint's "
    "`credits_low_threshold` to below it.",
    WebhookEventType.DELETION_SCHEDULED: "The account's deletion was scheduled; it is purged at `data.purge_at` "
    "unless canceled.",
    WebhookEventType.TEST: "Sent by POST /v1/webhook-endpoints/{endpoint_id}/test, to that endpoint only.",
}

_STANDARD_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The message id: the same on every retry of one event, so a receiver can drop repeats.",
        "schema": {"type": "string"},
        "example": example_id(IdPrefix.WEBHOOK_MESSAGE),
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Seconds since the epoch when this attempt was signed; refuse one far from now.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "example": "1777636800",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Space-separated `v1,<base64 HMAC-SHA256>` signatures of `{webhook-id}.{webhook-timestamp}."
        "{body}`, one per secret in force (two during a rotation's overlap). Verify with any Standard "
        "Webhooks library and the endpoint's `whsec_` secret.",
        "schema": {"type": "string"},
        "example": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    },
]


def _operation_id(event: WebhookEventType) -> str:
    head, _, tail = event.value.partition(".")
    return head + tail[:1].upper() + tail[1:] + "Event"


def webhook_operations() -> tuple[dict[str, Any], dict[str, Any]]:
    """The `webhooks` section and the component schemas its payloads refer to."""
    webhooks: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        webhooks[event.value] = {
            "post": {
                "operationId": _operation_id(event),
                "summary": f"The `{event.value}` event",
                "description": _DESCRIPTIONS[event]
                + " Answer 2xx within 10 seconds once it is stored; anything else is retried with "
                "backoff for 24 hours, with the same `webhook-id`. Redirects are not followed.",
                "tags": ["webhook events"],
                "parameters": _STANDARD_HEADERS,
                "security": [{"webhookSignature": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                            "example": _example(event),
                        }
                    },
                },
                "responses": {
                    "200": {"description": "Received: any 2xx stops the retries"},
                    "default": {"description": "Not received: retried with backoff for 24 hours"},
                },
            }
        }
    return webhooks, schemas


def _example(event: WebhookEventType) -> dict[str, Any]:
    account = example_id(IdPrefix.ACCOUNT)
    data: dict[str, Any]
    if event.value.startswith("job."):
        status = event.value.removeprefix("job.")
        data = {
            "object": "job",
            "id": example_id(IdPrefix.JOB),
            "account_id": account,
            "workspace_id": example_id(IdPrefix.WORKSPACE),
            "kind": "image",
            "model": "local-image",
            "status": status,
            "outputs": [example_id(IdPrefix.ASSET)] if status == "succeeded" else [],
            "error": {"code": "provider_failed", "message": "The provider could not generate this."}
            if status == "failed"
            else None,
            "cost_credits": 4,
            "charged_credits": 4 if status == "succeeded" else 0,
            "finished_at": EXAMPLE_TIME,
        }
    elif event.value.startswith("export."):
        ready = event is WebhookEventType.EXPORT_READY
        data = {
            "object": "export",
            "id": example_id(IdPrefix.EXPORT),
            "account_id": account,
            "status": "ready" if ready else "failed",
            "expires_at": "2026-05-08T12:00:00Z" if ready else None,
            "size_bytes": 48_213_504 if ready else None,
        }
    elif event is WebhookEventType.CREDITS_LOW:
        data = {"object": "balance", "account_id": account, "status": "low", "credits": 96}
    elif event is WebhookEventType.DELETION_SCHEDULED:
        data = {
            "object": "account",
            "id": account,
            "account_id": account,
            "status": "deletion_scheduled",
            "purge_at": "2026-05-31T12:00:00Z",
        }
    else:
        data = {
            "object": "webhook_endpoint",
            "id": example_id(IdPrefix.WEBHOOK_ENDPOINT),
            "account_id": account,
            "status": "test",
        }
    return {"type": event.value, "timestamp": EXAMPLE_TIME, "data": data}
