"""Outbound webhooks over real HTTP: endpoints registered through the API, events delivered by the
local runtime's queue to a receiver on 127.0.0.1, each verified with the reference Standard
Webhooks library, retried with the same message id, and never sent where they must not go."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from local.runtime import LocalRuntime
from tests.e2e.test_generation_journey import accept_terms, buy_credits, wait_for
from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack
from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    # Retries a second or two apart instead of half a minute, so a test sees several attempts.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0.5")
        with running_stack() as runtime:
            yield runtime


@pytest.fixture
def developer(stack: LocalRuntime, request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    # An account of its own per test: endpoints left by another test (their receivers gone, their
    # retries still queued) would keep the delivery queue busy.
    client = signed_in(stack.api_url, f"developer-{abs(hash(request.node.nodeid)) % 10**8}@example.com")
    accept_terms(client)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def register(client: ApiClient, url: str, events: list[str], **fields: object) -> dict:
    created = client.post("/v1/webhook-endpoints", json={"url": url, "events": events, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def deliveries(client: ApiClient, endpoint_id: str) -> list[dict]:
    answer = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def verified(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


def test_a_finished_job_is_announced_once_signed_and_without_its_prompt(
    stack: LocalRuntime, developer: ApiClient, receiver: Receiver
):
    # Given an endpoint subscribed to finished jobs, and credits
    buy_credits(developer)
    endpoint = register(developer, receiver.url, ["job.succeeded", "job.failed"], description="ci")
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in developer.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()

    # When a job runs to the end
    submitted = developer.post(
        "/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "a private lighthouse"}
    )
    assert submitted.status_code == 202, submitted.text
    job = wait_for(developer, submitted.json()["id"])
    assert job["status"] == "succeeded"
    stack.wait_until_queues_settle(consumers=["DeliveriesFunction", "WorkerFunction"])

    # Then the receiver got it once, signed by the endpoint's secret, with ids and status only
    [request] = receiver.received
    payload = verified(endpoint["secret"], request)
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"]
    assert payload["data"]["status"] == "succeeded"
    assert payload["data"]["outputs"] == job["outputs"]
    assert "prompt" not in payload["data"]
    assert b"lighthouse" not in request.body
    assert b"@example.com" not in request.body
    # And the delivery log says so
    [logged] = deliveries(developer, endpoint["id"])
    assert (logged["id"], logged["event"], logged["status"], logged["attempts"], logged["last_status"]) == (
        request.headers["webhook-id"],
        "job.succeeded",
        "delivered",
        1,
        200,
    )


def test_a_receiver_down_for_a_while_gets_the_event_when_it_returns_with_the_same_id(
    stack: LocalRuntime, developer: ApiClient
):
    # Given a receiver that fails its first two requests
    with running_receiver(script=[503, 500]) as flaky:
        endpoint = register(developer, flaky.url, ["job.succeeded"])

        # When a test event is sent to it
        sent = developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
        assert sent.status_code == 202, sent.text

        # Then it arrives once per attempt, three times, each verifiable, all with one message id
        requests = flaky.wait_for(3)
        stack.wait_until_queues_settle(consumers=["DeliveriesFunction"])
    assert len(flaky.received) == 3
    assert {request.headers["webhook-id"] for request in requests} == {sent.json()["id"]}
    assert all(verified(endpoint["secret"], request)["type"] == "webhook.test" for request in requests)
    assert len({request.body for request in requests}) == 1
    [logged] = deliveries(developer, endpoint["id"])
    assert (logged["status"], logged["attempts"], logged["last_status"]) == ("delivered", 3, 200)


def test_a_redirecting_endpoint_is_not_followed(stack: LocalRuntime, developer: ApiClient):
    # Given an endpoint that answers with a redirect to another receiver
    with running_receiver() as elsewhere, running_receiver(script=[302, 302, 302]) as redirecting:
        redirecting.redirect_to = elsewhere.url
        endpoint = register(developer, redirecting.url, ["job.succeeded"])

        # When an event is sent to it
        developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
        redirecting.wait_for(2)

        # Then the redirect counts as a failure and is retried, and its target gets nothing
        logged = deliveries(developer, endpoint["id"])[0]
        assert (logged["status"], logged["last_status"]) == ("pending", 302)
        assert logged["next_retry_at"]
        assert "redirect" in logged["last_error"]
        assert elsewhere.received == []
        # (Removing the endpoint stops the retries.)
        assert developer.request("DELETE", f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 204
        stack.wait_until_queues_settle(consumers=["DeliveriesFunction"])
    assert elsewhere.received == []


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/hooks",
        "https://[::1]/hooks",
        "https://169.254.169.254/latest",
        "https://localhost/hooks",
        "http://example.com/hooks",
        "http://127.0.0.2:8080/hooks",
        "https://user:pass@example.com/hooks",
    ],
)
def test_an_endpoint_on_a_private_or_plain_http_address_is_refused(developer: ApiClient, url: str):
    # When an endpoint is registered on an address Atelier never posts to
    answer = developer.post("/v1/webhook-endpoints", json={"url": url, "events": ["job.succeeded"]})

    # Then it is refused with a clear error and nothing is registered
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_field"
    assert all(item["url"] != url for item in developer.get("/v1/webhook-endpoints").json()["items"])


def test_a_disabled_endpoint_gets_nothing(stack: LocalRuntime, developer: ApiClient, receiver: Receiver):
    # Given a disabled endpoint and an enabled one, both subscribed to finished jobs
    buy_credits(developer)
    with running_receiver() as silent:
        disabled = register(developer, silent.url, ["job.succeeded"], enabled=False)
        register(developer, receiver.url, ["job.succeeded"])

        # When a job finishes, and a test event is sent to the disabled endpoint itself
        submitted = developer.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "a gull"})
        assert submitted.status_code == 202, submitted.text
        assert wait_for(developer, submitted.json()["id"])["status"] == "succeeded"
        tested = developer.post(f"/v1/webhook-endpoints/{disabled['id']}/test")
        assert tested.status_code == 202, tested.text
        receiver.wait_for(1)
        stack.wait_until_queues_settle(consumers=["DeliveriesFunction", "WorkerFunction"])

    # Then the enabled endpoint heard of the job and the disabled one heard of nothing
    assert [json.loads(request.body)["type"] for request in receiver.received] == ["job.succeeded"]
    assert silent.received == []
    [test_delivery] = deliveries(developer, disabled["id"])
    assert (test_delivery["status"], test_delivery["attempts"]) == ("failed", 0)


def test_a_rotated_secret_and_the_previous_one_both_sign_during_the_overlap(
    stack: LocalRuntime, developer: ApiClient, receiver: Receiver
):
    # Given an endpoint whose secret was rotated
    endpoint = register(developer, receiver.url, ["export.ready"])
    rotated = developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    assert rotated.json()["previous_secret_expires_at"]

    # When an event is delivered
    developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
    [request] = receiver.wait_for(1)

    # Then it carries two signatures, and a receiver holding either secret accepts it
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(endpoint["secret"], request)
    verified(new_secret, request)


def test_a_delivery_is_redelivered_by_hand_with_the_same_id(
    stack: LocalRuntime, developer: ApiClient, receiver: Receiver
):
    # Given a delivered event
    endpoint = register(developer, receiver.url, ["job.failed"])
    developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
    [first] = receiver.wait_for(1)
    stack.wait_until_queues_settle(consumers=["DeliveriesFunction"])
    message_id = first.headers["webhook-id"]

    # When it is redelivered by hand
    again = developer.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{message_id}/redeliver")
    assert again.status_code == 202, again.text

    # Then the receiver gets the same message again, and the log counts both attempts
    second = receiver.wait_for(2)[1]
    stack.wait_until_queues_settle(consumers=["DeliveriesFunction"])
    assert second.headers["webhook-id"] == message_id
    assert second.body == first.body
    [logged] = deliveries(developer, endpoint["id"])
    assert (logged["status"], logged["attempts"]) == ("delivered", 2)


def test_other_accounts_endpoints_are_not_found(stack: LocalRuntime, developer: ApiClient, receiver: Receiver):
    # Given someone else's endpoint
    endpoint = register(developer, receiver.url, ["job.succeeded"])
    stranger = signed_in(stack.api_url, "stranger@example.com")

    # When a stranger reads, changes, tests or removes it, it does not exist for them
    base = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert stranger.get(base).status_code == 404
    assert stranger.request("PATCH", base, json={"enabled": False}).status_code == 404
    assert stranger.post(f"{base}/test").status_code == 404
    assert stranger.get(f"{base}/deliveries").status_code == 404
    assert stranger.request("DELETE", base).status_code == 404
    stranger.close()
    assert developer.get(base).json()["enabled"] is True
    assert httpx.get(f"{stack.api_url}{base}").status_code == 401


def test_a_jobs_own_webhook_url_hears_of_it_signed_with_the_default_secret(
    stack: LocalRuntime, developer: ApiClient, receiver: Receiver
):
    # Given the account's default secret, and credits
    buy_credits(developer)
    default = developer.get("/v1/webhook-endpoints/default/secret")
    assert default.status_code == 200, default.text
    secret = default.json()["secret"]
    assert developer.get("/v1/webhook-endpoints/default/secret").json()["secret"] == secret

    # When a job names its own receiver
    submitted = developer.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": "a tern", "webhook_url": receiver.url},
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["webhook_url"] == receiver.url
    job = wait_for(developer, submitted.json()["id"])
    [request] = receiver.wait_for(1)
    stack.wait_until_queues_settle(consumers=["DeliveriesFunction", "WorkerFunction"])

    # Then the receiver gets the job's event, signed with the default secret, and the default
    # endpoint's log lists it; no registered endpoint is involved
    assert len(receiver.received) == 1
    payload = verified(secret, request)
    assert (payload["type"], payload["data"]["id"]) == ("job.succeeded", job["id"])
    [logged] = deliveries(developer, "default")
    assert (logged["id"], logged["status"]) == (request.headers["webhook-id"], "delivered")
    assert developer.get("/v1/webhook-endpoints").json()["items"] == []


def test_a_job_with_a_private_webhook_url_is_refused_before_anything_is_held(developer: ApiClient):
    buy_credits(developer)
    before = developer.get("/v1/billing/balance").json()
    answer = developer.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": "a tern", "webhook_url": "https://10.1.1.1/in"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "webhook_url"
    assert developer.get("/v1/billing/balance").json() == before


def test_a_job_past_its_cancel_after_is_canceled_released_and_announced(
    stack: LocalRuntime, developer: ApiClient, receiver: Receiver
):
    # Given an endpoint for canceled jobs, and credits
    buy_credits(developer)
    register(developer, receiver.url, ["job.canceled"])
    before = developer.get("/v1/billing/balance").json()

    # When a video job is given one second
    submitted = developer.post(
        "/v1/jobs",
        json={"kind": "video", "model": "local-video", "prompt": "waves", "params": {"duration_s": 1}},
        headers={"Cancel-After": "1s"},
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["cancel_at"]
    job = wait_for(developer, submitted.json()["id"])
    [request] = receiver.wait_for(1)
    stack.wait_until_queues_settle(consumers=["DeliveriesFunction", "WorkerFunction"])

    # Then it is canceled for its deadline, nothing is charged, and the receiver is told
    assert (job["status"], job["error"]["code"], job["charged_credits"]) == ("canceled", "deadline", 0)
    assert developer.get("/v1/billing/balance").json() == before
    payload = json.loads(request.body)
    assert (payload["type"], payload["data"]["error"]["code"]) == ("job.canceled", "deadline")


def test_an_unreadable_cancel_after_is_refused(developer: ApiClient):
    buy_credits(developer)
    answer = developer.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": "a tern"},
        headers={"Cancel-After": "whenever"},
    )
    assert answer.status_code == 422, answer.text
    [detail] = answer.json()["error"]["details"]
    assert (detail["field"].lower(), detail["location"]) == ("cancel-after", "header")
