"""Examples for the OpenAPI document, derived from the schemas themselves.

A model may carry its own example (`model_config = ConfigDict(json_schema_extra={"examples": [...]})`
or `Field(examples=[...])`); whatever it leaves out is filled in here from the schema: an id with the
prefix its name implies, a timestamp for a date-time, the first value of an enum, the bound of a
number. Everything comes from the route code's own schemas, so an example cannot drift from the shape
it illustrates, and a test validates every one of them against its schema.
"""

from __future__ import annotations

import re
from typing import Any

from atelier.ids import IdPrefix

EXAMPLE_TIME = "2026-05-01T12:00:00Z"
_EXAMPLE_BODY = "01jt3v5k8m2n4p6r8t0w2y4a6c"  # 26 characters of the ids' alphabet

# Which id a field holds, by its name (`job_id`, `outputs`...) or, for a bare `id`, by its schema's title.
_PREFIX_BY_NAME: dict[str, IdPrefix] = {
    "account": IdPrefix.ACCOUNT,
    "me": IdPrefix.ACCOUNT,
    "owner": IdPrefix.ACCOUNT,
    "target": IdPrefix.ASSET,
    "job": IdPrefix.JOB,
    "asset": IdPrefix.ASSET,
    "output": IdPrefix.ASSET,
    "item": IdPrefix.ASSET,
    "workspace": IdPrefix.WORKSPACE,
    "workflow_version": IdPrefix.WORKFLOW_VERSION,
    "version": IdPrefix.WORKFLOW_VERSION,
    "workflow": IdPrefix.WORKFLOW,
    "share": IdPrefix.SHARE,
    "export": IdPrefix.EXPORT,
    "report": IdPrefix.REPORT,
    "api_key": IdPrefix.API_KEY,
    "key": IdPrefix.API_KEY,
    "upload": IdPrefix.UPLOAD,
    "reference_upload": IdPrefix.UPLOAD,
    "checkout": IdPrefix.CHECKOUT,
    "ledger_entry": IdPrefix.LEDGER_ENTRY,
    "entry": IdPrefix.LEDGER_ENTRY,
    "endpoint": IdPrefix.WEBHOOK_ENDPOINT,
    "webhook_endpoint": IdPrefix.WEBHOOK_ENDPOINT,
    "delivery": IdPrefix.WEBHOOK_MESSAGE,
    "message": IdPrefix.WEBHOOK_MESSAGE,
}


def example_id(prefix: IdPrefix) -> str:
    return f"{prefix.value}_{_EXAMPLE_BODY}"


def _snake(title: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", title).lower()


def _id_prefix(name: str, title: str) -> IdPrefix | None:
    stem = name.removesuffix("_ids").removesuffix("_id").removesuffix("s")
    if name in ("id", "ids"):
        # `JobResponse` -> job, `WebhookEndpointResponse` -> webhook_endpoint, `AdminReportResponse` -> report
        words = _snake(title).split("_")
        for size in (2, 1):
            for start in range(len(words) - size + 1):
                candidate = "_".join(words[start : start + size])
                if candidate in _PREFIX_BY_NAME:
                    return _PREFIX_BY_NAME[candidate]
        return None
    if name.endswith(("_id", "_ids")) or name in ("outputs",):
        words = stem.split("_")
        # `default_workspace_id` -> workspace, `reference_upload_ids` -> reference_upload
        for start in range(len(words)):
            candidate = "_".join(words[start:])
            if candidate in _PREFIX_BY_NAME:
                return _PREFIX_BY_NAME[candidate]
    return None


def _string(schema: dict[str, Any], name: str, owner: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time" or name.endswith("_at") or name == "at":
        return EXAMPLE_TIME
    if fmt == "date":
        return EXAMPLE_TIME[:10]
    if fmt == "email" or name == "email":
        return "ada@example.com"
    if fmt in ("uri", "url") or name.endswith("url"):
        return f"https://example.com/{name.removesuffix('_url') or 'resource'}"
    prefix = _id_prefix(name, owner)
    candidates = [example_id(prefix)] if prefix else []
    candidates += [_named_string(name, owner), name or "text", "a", "abc"]
    pattern = schema.get("pattern")
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    for candidate in candidates:
        if len(candidate) < low or (high is not None and len(candidate) > high):
            continue
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return candidates[0][: high or None].ljust(low, "a")


# What a `name` holds, by the object it names.
_NAME_BY_OWNER = {
    "Pack": "500 credits",
    "Plan": "Monthly",
    "Workspace": "Client work",
    "Workflow": "Product shots",
    "Key": "CI render script",
    "Model": "Local image (CPU)",
}


def _named_string(name: str, owner: str = "") -> str:
    if name == "name":
        for word, value in _NAME_BY_OWNER.items():
            if word in owner:
                return value
    known = {
        "name": "Ada Lovelace",
        "prompt": "a lighthouse on a cliff at dawn, oil painting",
        "negative_prompt": "blurry, text",
        "description": "Notifies the render farm",
        "message": "A human-readable sentence.",
        "code": "not_found",
        "currency": "usd",
        "content_type": "image/png",
        "filename": "reference.png",
        "label": "favourite",
        "labels": "favourite",
        "model": "local-image",
        "provider": "stripe",
        "reason": "Spam",
        "summary": "What changed, in plain words.",
        "version": "2026-05-01",
        "key": "atl_live_example",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "token": "shr_tok_example",
        "theme": "system",
        "events": "job.succeeded",
        "event_type": "job.succeeded",
        "event": "job.succeeded",
        "prefix": "atl_7Kq2",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "terms_version": "2026-05-01",
        "pending_email": "ada.new@example.com",
        "interval": "month",
        "plan_id": "plan_monthly",
        "item_id": "pack_500",
        "cancel_after": "5m",
        "redirect_to": "/library",
        "idempotency_key": "7d0f6c4e-2a1b-4c3d-9e8f-5a6b7c8d9e0f",
    }
    return known.get(name, name.replace("_", " ") if name else "text")


# Plausible magnitudes for numbers named so (kept within the schema's bounds below).
_NUMBER_BY_NAME: dict[str, float] = {
    "size_bytes": 1_048_576,
    "width": 1024,
    "height": 768,
    "duration_s": 5.0,
    "credits": 500,
    "cost_credits": 2,
    "charged_credits": 2,
    "held_credits": 4,
    "monthly_credits": 2000,
    "spent_this_month": 120,
    "credits_low_threshold": 100,
    "progress": 0.5,
    "queue_position": 2,
    "compute_seconds": 3.2,
    "value_minor": 1299,
    "attempts": 1,
    "last_status": 200,
}


def _number(schema: dict[str, Any], integer: bool, name: str = "") -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = _NUMBER_BY_NAME.get(name, 1)
    if low is not None and value < low:
        value = low + (1 if "exclusiveMinimum" in schema else 0)
        if value < 1 and (high is None or high >= 1):
            value = 1
    if high is not None and value > high:
        value = high - (1 if "exclusiveMaximum" in schema else 0)
    return int(value) if integer else float(value)


# Nullable fields that are null in the usual answer (they report a failure or a pending change).
_USUALLY_NULL = {
    "next_cursor",
    "error",
    "disabled_reason",
    "restriction",
    "pending_email",
    "last_error",
    "failing_since",
}


class ExampleMaker:
    """Builds an example for a schema of the document, resolving `$ref`s among its components."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
        title = schema.get("title", "")
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.schemas[name]
            title = name
        return schema, title or schema.get("title", "")

    def example(self, schema: dict[str, Any], name: str = "", depth: int = 0, owner: str = "") -> Any:
        """An example of `schema`, for a field called `name` of the object schema titled `owner`."""
        schema, title = self.resolve(schema)
        for key in ("examples", "example", "const"):
            if key in schema:
                return schema[key][0] if key == "examples" else schema[key]
        if schema.get("default") is not None and not schema.get("properties"):
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                if name in _USUALLY_NULL and {"type": "null"} in schema[key]:
                    return None  # an example shows the usual answer, not a failure
                branches = [branch for branch in schema[key] if branch.get("type") != "null"]
                return self.example(branches[0], name, depth, owner) if branches else None
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for branch in schema["allOf"]:
                part = self.example(branch, name, depth, owner)
                if isinstance(part, dict):
                    merged.update(part)
            return merged
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((each for each in kind if each != "null"), None)
        if kind == "object" or "properties" in schema:
            if depth > 6:
                return {}
            return {
                field: self.example(subschema, field, depth + 1, title)
                for field, subschema in schema.get("properties", {}).items()
            }
        if kind == "array":
            if schema.get("maxItems") == 0:
                return []
            item = self.example(schema.get("items", {}), name, depth + 1, owner)
            count = max(1, schema.get("minItems", 1))
            return [item] * count if schema.get("uniqueItems") is not True or count == 1 else [item]
        if kind == "string":
            return _string(schema, name, owner)
        if kind == "integer":
            return _number(schema, integer=True, name=name)
        if kind == "number":
            return _number(schema, integer=False, name=name)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return {}
