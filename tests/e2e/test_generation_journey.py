"""The whole journey over real HTTP: sign in, buy credits in the payments sandbox, generate an image
and a video with the local provider, poll to `succeeded`, download outputs that decode."""

import io
import time

import httpx
import pytest

from tests.support.client import ApiClient, signed_in


def accept_terms(client: ApiClient) -> None:
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200


def buy_credits(client: ApiClient, item_id: str = "pack_starter", provider: str = "stripe") -> None:
    before = client.get("/v1/billing/balance").json()["credits"]
    checkout = client.post("/v1/billing/checkout", json={"item_id": item_id, "provider": provider})
    assert checkout.status_code == 201, checkout.text
    paid = httpx.post(f"{checkout.json()['url']}/pay", timeout=30, follow_redirects=False)
    assert paid.status_code < 400, paid.text
    if provider == "paypal":
        # The buyer returns to Atelier, which captures the order.
        client.follow(paid.headers["location"])
    for _ in range(50):
        if client.get("/v1/billing/balance").json()["credits"] > before:
            return
        time.sleep(0.1)
    pytest.fail("credits never arrived")


def wait_for(client: ApiClient, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish")


@pytest.fixture
def buyer(stack):
    client = signed_in(stack.api_url, "maker@example.com")
    accept_terms(client)
    buy_credits(client)
    yield client
    client.close()


def test_an_image_is_generated_stored_and_downloadable(buyer: ApiClient):
    from PIL import Image

    credits = buyer.get("/v1/billing/balance").json()["credits"]
    submitted = buyer.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": "a red kite", "params": {"width": 320, "height": 200}},
    )
    assert submitted.status_code == 202, submitted.text
    job = wait_for(buyer, submitted.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["charged_credits"] == job["cost_credits"]
    asset = buyer.get(f"/v1/assets/{job['outputs'][0]}").json()
    assert (asset["width"], asset["height"], asset["content_type"]) == (320, 200, "image/png")
    content = httpx.get(asset["download_url"], timeout=30).content
    with Image.open(io.BytesIO(content)) as image:
        image.verify()
    balance = buyer.get("/v1/billing/balance").json()
    assert (balance["credits"], balance["held_credits"]) == (credits - job["cost_credits"], 0)


def test_a_video_is_generated_through_the_asynchronous_path(buyer: ApiClient):
    av = pytest.importorskip("av")
    submitted = buyer.post(
        "/v1/jobs", json={"kind": "video", "model": "local-video", "prompt": "waves", "params": {"duration_s": 1}}
    )
    assert submitted.status_code == 202, submitted.text
    job = wait_for(buyer, submitted.json()["id"], timeout_s=120)
    assert job["status"] == "succeeded", job
    asset = buyer.get(f"/v1/assets/{job['outputs'][0]}").json()
    assert asset["content_type"] == "video/mp4"
    content = httpx.get(asset["download_url"], timeout=30).content
    with av.open(io.BytesIO(content)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 1


def test_the_same_idempotency_key_makes_one_job(buyer: ApiClient):
    body = {"kind": "image", "model": "local-image", "prompt": "one kite"}
    first = buyer.post("/v1/jobs", json=body, headers={"Idempotency-Key": "kite-1"})
    second = buyer.post("/v1/jobs", json=body, headers={"Idempotency-Key": "kite-1"})
    other = buyer.post("/v1/jobs", json={**body, "prompt": "two kites"}, headers={"Idempotency-Key": "kite-1"})
    assert first.json()["id"] == second.json()["id"]
    assert other.status_code == 409


def test_another_account_gets_404_on_my_job_and_asset(stack, buyer: ApiClient):
    job = wait_for(
        buyer, buyer.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "mine"}).json()["id"]
    )
    stranger = signed_in(stack.api_url, "stranger@example.com")
    assert stranger.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert stranger.get(f"/v1/assets/{job['outputs'][0]}").status_code == 404
    assert stranger.request("DELETE", f"/v1/assets/{job['outputs'][0]}").status_code == 404
    assert stranger.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
    assert buyer.get(f"/v1/assets/{job['outputs'][0]}").status_code == 200


def test_an_asset_can_be_labelled_rated_and_deleted(buyer: ApiClient):
    job = wait_for(
        buyer, buyer.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "label me"}).json()["id"]
    )
    asset_id = job["outputs"][0]
    patched = buyer.request("PATCH", f"/v1/assets/{asset_id}", json={"labels": ["kites", "red"], "rating": 4})
    assert (patched.json()["labels"], patched.json()["rating"]) == (["kites", "red"], 4)
    cleared = buyer.request("PATCH", f"/v1/assets/{asset_id}", json={"rating": None})
    assert cleared.json()["rating"] is None
    assert buyer.request("PATCH", f"/v1/assets/{asset_id}", json={"rating": 6}).status_code == 422
    url = buyer.get(f"/v1/assets/{asset_id}").json()["download_url"]
    assert buyer.request("DELETE", f"/v1/assets/{asset_id}").status_code == 204
    assert buyer.get(f"/v1/assets/{asset_id}").status_code == 404
    assert httpx.get(url, timeout=30).status_code == 404


def test_a_job_that_fails_every_delivery_ends_in_the_dead_letter_queue_released_once(stack, buyer: ApiClient):
    import boto3

    credits = buyer.get("/v1/billing/balance").json()["credits"]
    submitted = buyer.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "[outage] a kite"})
    job = wait_for(buyer, submitted.json()["id"], timeout_s=90)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "generation_failed"
    sqs = boto3.client("sqs", endpoint_url=stack.emulator_url, region_name="us-east-1")
    dead_letters = sqs.get_queue_url(QueueName="atelier-local-generation-dlq")["QueueUrl"]
    found = []
    for _ in range(40):
        answer = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        found += [m for m in answer.get("Messages", []) if job["id"] in m["Body"]]
        if found:
            break
    assert found, "the poison message never reached the dead-letter queue"
    assert buyer.get("/v1/billing/balance").json() == {
        **buyer.get("/v1/billing/balance").json(),
        "credits": credits,
        "held_credits": 0,
    }
    ledger = [e for e in buyer.get("/v1/billing/ledger?limit=100").json()["items"] if e["reference"] == job["id"]]
    assert sorted(e["kind"] for e in ledger) == ["hold", "release"]
