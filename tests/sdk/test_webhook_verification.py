"""`atelier.webhooks.verify` accepts what the reference Standard Webhooks signer and Atelier's own
signer produce, and refuses anything it cannot prove came from the secret's holder."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from atelier.integrations import webhooks as server_signing
from tests.support.sdk import load

sdk = load()
verify = sdk.webhooks.verify
WebhookVerificationError = sdk.webhooks.WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"a secret of twenty-four!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret, rotated!").decode()
BODY = json.dumps({"type": "job.succeeded", "timestamp": "2026-12-06T12:00:00Z", "data": {"id": "job_1"}}).encode()


def signed_by_the_server(secrets: list[str], *, message_id: str = "msg_1", at: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if at is None else at
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": server_signing.signature_header(secrets, message_id, timestamp, BODY),
    }


def test_a_delivery_signed_by_the_reference_library_is_verified():
    # Given a payload signed by the standardwebhooks package
    reference = Webhook(SECRET)
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_ref",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": reference.sign("msg_ref", now, BODY.decode()),
    }

    # Then verify answers the parsed payload
    assert verify(BODY, headers, SECRET) == json.loads(BODY)
    # and the reference library agrees with the client's own signer
    assert sdk.webhooks.sign(SECRET, "msg_ref", int(now.timestamp()), BODY) == headers["webhook-signature"]


def test_a_delivery_signed_by_atelier_is_verified_with_header_names_in_any_case():
    headers = {name.title(): value for name, value in signed_by_the_server([SECRET]).items()}
    assert verify(BODY.decode(), headers, SECRET)["data"] == {"id": "job_1"}


def test_during_a_rotation_either_secret_verifies():
    # Given a delivery signed with the new and the previous secret (the overlap window)
    headers = signed_by_the_server([OTHER_SECRET, SECRET])
    assert len(headers["webhook-signature"].split()) == 2

    # Then a receiver holding either one accepts it
    assert verify(BODY, headers, SECRET)["type"] == "job.succeeded"
    assert verify(BODY, headers, OTHER_SECRET)["type"] == "job.succeeded"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda body, headers: (body.replace(b"job_1", b"job_2"), headers), "No signature matches"),
        (lambda body, headers: (body, headers | {"webhook-id": "msg_other"}), "No signature matches"),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "webhook-signature"}), "missing"),
        (lambda body, headers: (body, headers | {"webhook-timestamp": "soon"}), "not a number"),
        (lambda body, headers: (body, headers | {"webhook-signature": "v2," + headers["webhook-signature"][3:]}), "No"),
    ],
    ids=["tampered body", "other message id", "no signature", "unreadable timestamp", "unknown version"],
)
def test_a_tampered_or_incomplete_delivery_is_refused(change, reason):
    body, headers = change(BODY, signed_by_the_server([SECRET]))
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(body, headers, SECRET)


def test_a_delivery_signed_with_another_secret_is_refused():
    with pytest.raises(WebhookVerificationError, match="No signature matches"):
        verify(BODY, signed_by_the_server([OTHER_SECRET]), SECRET)


def test_a_delivery_older_or_newer_than_five_minutes_is_refused_and_one_within_is_not():
    now = 1_800_000_000
    for offset in (-301, 301):
        with pytest.raises(WebhookVerificationError, match=r"too old|future"):
            verify(BODY, signed_by_the_server([SECRET], at=now + offset), SECRET, now=now)
    for offset in (-299, 299):
        assert verify(BODY, signed_by_the_server([SECRET], at=now + offset), SECRET, now=now)


def test_a_secret_that_is_not_base64_is_a_mistake_of_the_caller():
    with pytest.raises(ValueError, match="base64"):
        verify(BODY, signed_by_the_server([SECRET]), "whsec_not base64!")
