"""The webhook sender's rules on where a delivery may go, checked where the connection is made,
and its signatures as the reference Standard Webhooks library reads them."""

from __future__ import annotations

import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from atelier.integrations.webhooks import (
    WebhookAddressRefusedError,
    WebhookSender,
    new_secret,
    signature_header,
    url_problem,
)


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers={"location": "https://elsewhere.example/"})


def sender(recorder: Recorder, addresses: list[str], *, allow_local: bool = False) -> WebhookSender:
    return WebhookSender(
        resolve=lambda host: addresses,
        allow_local=allow_local,
        http=httpx.Client(transport=httpx.MockTransport(recorder), follow_redirects=False),
    )


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "fd00::1", "100.64.0.1"])
def test_a_name_that_resolves_to_a_private_address_is_refused_before_connecting(address: str):
    # Given a public-looking name whose DNS answer, at delivery time, is a private address
    recorder = Recorder()

    # When a delivery is posted to it
    with pytest.raises(WebhookAddressRefusedError):
        sender(recorder, [address]).post("https://hooks.example.com/in", b"{}", {})

    # Then no connection was attempted
    assert recorder.requests == []


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    recorder = Recorder()
    with pytest.raises(WebhookAddressRefusedError):
        sender(recorder, ["93.184.216.34", "192.168.1.10"]).post("https://hooks.example.com/in", b"{}", {})
    assert recorder.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_name_kept_for_tls_and_host():
    # Given a name resolving to a public address
    recorder = Recorder()

    # When a delivery is posted
    status = sender(recorder, ["93.184.216.34"]).post("https://hooks.example.com:8443/in?x=1", b"{}", {"a": "b"})

    # Then the request went to that address, naming the host in its Host header and TLS handshake
    assert status == 200
    [request] = recorder.requests
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


def test_a_redirect_is_answered_not_followed():
    recorder = Recorder(status=307)
    assert sender(recorder, ["93.184.216.34"]).post("https://hooks.example.com/in", b"{}", {}) == 307
    assert len(recorder.requests) == 1


def test_plain_http_to_the_local_listener_is_allowed_only_in_the_local_runtime():
    recorder = Recorder()
    with pytest.raises(WebhookAddressRefusedError):
        sender(recorder, []).post("http://127.0.0.1:9000/in", b"{}", {})
    assert sender(recorder, [], allow_local=True).post("http://127.0.0.1:9000/in", b"{}", {}) == 200
    assert url_problem("http://127.0.0.1:9000/in", allow_local=False) is not None
    assert url_problem("http://127.0.0.1:9000/in", allow_local=True) is None
    assert url_problem("http://localhost:9000/in", allow_local=True) is not None


def test_signatures_verify_with_the_reference_library_and_each_rotation_secret():
    # Given two secrets (a rotation's overlap) and a body signed with both
    old, new = new_secret(), new_secret()
    body = b'{"type":"job.succeeded","data":{"id":"job_1"}}'
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature_header([new, old], "msg_1", now, body),
    }

    # Then a receiver holding either secret accepts it, and one holding neither does not
    assert Webhook(old).verify(body, headers)["data"]["id"] == "job_1"
    assert Webhook(new).verify(body, headers)["data"]["id"] == "job_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"job_1", b"job_2"), headers)
