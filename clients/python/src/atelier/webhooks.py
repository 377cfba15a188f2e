"""Verifying the webhooks Atelier sends (the Standard Webhooks scheme, https://www.standardwebhooks.com).

Each delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
one or more space-separated ``v1,<base64 HMAC-SHA256>`` signatures of ``{id}.{timestamp}.{body}``,
keyed by the base64 bytes after the secret's ``whsec_`` prefix (two while a rotated secret's overlap
window lasts). ``verify`` accepts the delivery when any signature matches and the timestamp is within
five minutes of now, then answers the parsed payload::

    event = atelier.webhooks.verify(request_body, request_headers, secret)
    if event["type"] == "job.succeeded": ...

Verify the raw body exactly as received, before any JSON parsing. The ``webhook-id`` is the same on
every retry of one event: keep the ids already handled to process each event once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every Standard Webhooks secret carries
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The delivery is not provably from Atelier (missing headers, no matching signature, too old or
    too far in the future). Answer it with a 4xx and do not act on it."""


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"The {name} header is missing.")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("A webhook secret is `whsec_` followed by base64.") from exc


def sign(secret: str, message_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``v1,`` signature Atelier sends for this message (for tests of a receiver)."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{timestamp}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's parsed payload once its signature and timestamp check out; otherwise
    ``WebhookVerificationError``. ``headers`` may be any mapping (names are matched case-insensitively)."""
    body = payload.encode() if isinstance(payload, str) else payload
    message_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(timestamp_text)
    except ValueError as exc:
        raise WebhookVerificationError("The webhook-timestamp header is not a number of seconds.") from exc
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("The delivery is too old.")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("The delivery's timestamp is in the future.")

    expected = sign(secret, message_id, timestamp, body).removeprefix("v1,").encode()
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            break
    else:
        raise WebhookVerificationError("No signature matches the secret.")
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("The payload is not JSON.") from exc
    if not isinstance(parsed, dict):
        raise WebhookVerificationError("The payload is not a JSON object.")
    return parsed
