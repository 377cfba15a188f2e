"""Replicate's callbacks verify in the Standard Webhooks scheme: only an unaltered, recent delivery
signed with the account's secret names a prediction; anything else is refused."""

from __future__ import annotations

import json

import pytest

from atelier.integrations.inference.base import CallbackSignatureError
from atelier.integrations.inference.replicate import ReplicateProvider, sign
from local.inference import REPLICATE_WEBHOOK_SECRET
from tests.support.inference import CALLBACK_URL, Delivery, ProviderNetwork, request


@pytest.fixture
def network() -> ProviderNetwork:
    return ProviderNetwork()


@pytest.fixture
def delivery(network) -> Delivery:
    """The webhook the stand-in sent for a prediction that completed."""
    adapter = network.replicate()
    network.run_to_end(adapter, adapter.submit(request("image", model="owner/model", callback_url=CALLBACK_URL)))
    (sent,) = network.deliveries
    return sent


def test_the_standard_webhooks_reference_signature_verifies():
    # Given the example delivery published with the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    webhook_id, timestamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
    # Then the signature is the published one
    assert sign(secret, webhook_id, timestamp, body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_genuine_callback_names_its_prediction(network, delivery):
    prediction_id = json.loads(delivery.body)["id"]
    assert network.replicate().verify_callback(delivery.headers, delivery.body) == prediction_id


def test_header_names_are_matched_whatever_their_case(network, delivery):
    shouting = {name.upper(): value for name, value in delivery.headers.items()}
    assert network.replicate().verify_callback(shouting, delivery.body) == json.loads(delivery.body)["id"]


def test_one_valid_signature_among_several_is_enough(network, delivery):
    # Given a delivery signed during a secret rotation: an old signature, then the current one
    headers = dict(delivery.headers)
    headers["webhook-signature"] = f"v1,bm90LXRoZS1zaWduYXR1cmU= {headers['webhook-signature']}"
    # Then it verifies
    assert network.replicate().verify_callback(headers, delivery.body)


def test_a_tampered_body_is_refused(network, delivery):
    body = json.loads(delivery.body)
    body["status"] = "failed"
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(delivery.headers, json.dumps(body).encode())


def test_a_swapped_prediction_id_is_refused(network, delivery):
    tampered = delivery.body.replace(json.loads(delivery.body)["id"].encode(), b"another0prediction0id00000", 1)
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(delivery.headers, tampered)


def test_a_delivery_signed_with_another_secret_is_refused(network, delivery):
    other = network.replicate(webhook_secret="whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")
    with pytest.raises(CallbackSignatureError):
        other.verify_callback(delivery.headers, delivery.body)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(network, offset):
    # Given a delivery correctly signed, but for a time more than five minutes from now
    body = b'{"id": "abc"}'
    timestamp = str(int(network.clock() + offset))
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(REPLICATE_WEBHOOK_SECRET, "msg_1", timestamp, body),
    }
    # Then it is refused as a possible replay
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(headers, body)


def test_a_timestamp_within_five_minutes_is_accepted(network):
    body = b'{"id": "abc"}'
    timestamp = str(int(network.clock() - 299))
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(REPLICATE_WEBHOOK_SECRET, "msg_1", timestamp, body),
    }
    assert network.replicate().verify_callback(headers, body) == "abc"


def test_a_changed_timestamp_is_refused(network, delivery):
    headers = dict(delivery.headers)
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(headers, delivery.body)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_delivery_without_its_headers_is_refused(network, delivery, missing):
    headers = {name: value for name, value in delivery.headers.items() if name != missing}
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(headers, delivery.body)


def test_a_signature_of_another_scheme_is_refused(network, delivery):
    headers = dict(delivery.headers)
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,", 1)
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(headers, delivery.body)


def test_a_signed_body_naming_no_prediction_is_refused(network):
    body = b'{"status": "succeeded"}'
    timestamp = str(int(network.clock()))
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(REPLICATE_WEBHOOK_SECRET, "msg_1", timestamp, body),
    }
    with pytest.raises(CallbackSignatureError):
        network.replicate().verify_callback(headers, body)


def test_without_a_configured_secret_the_accounts_secret_is_read_once_from_replicate(network, delivery):
    # Given an adapter with no webhook secret configured
    adapter: ReplicateProvider = network.replicate(webhook_secret="")
    stand_in = network.stand_in("replicate")
    # When two callbacks are verified
    adapter.verify_callback(delivery.headers, delivery.body)
    adapter.verify_callback(delivery.headers, delivery.body)
    # Then the secret was read from Replicate's API once
    reads = [path for method, path, *_ in stand_in.requests if path == "/v1/webhooks/default/secret"]
    assert reads == ["/v1/webhooks/default/secret"]
