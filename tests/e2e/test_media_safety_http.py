"""Media moderation and provenance over real HTTP (P17, P18): what the person sees of a flagged or
restricted output, and the provenance an asset reports."""

from __future__ import annotations

import httpx
import pytest

from atelier.integrations.provenance import DIGITAL_SOURCE_TYPE, read_provenance, xmp_digital_source_type
from tests.e2e.test_generation_journey import accept_terms, buy_credits, wait_for
from tests.support.client import ApiClient, signed_in


@pytest.fixture
def maker(stack):
    client = signed_in(stack.api_url, "safety-maker@example.com")
    accept_terms(client)
    buy_credits(client)
    yield client
    client.close()


def generate(client: ApiClient, prompt: str) -> dict:
    submitted = client.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": prompt, "params": {"width": 192, "height": 128}},
    )
    assert submitted.status_code == 202, submitted.text
    return wait_for(client, submitted.json()["id"])


def test_a_flagged_output_fails_its_job_saying_why_and_charges_nothing(maker: ApiClient):
    # Given a person with credits
    credits = maker.get("/v1/billing/balance").json()["credits"]
    # When they generate something the moderation service flags as explicit
    job = generate(maker, "a figure flag:explicit")
    # Then the job failed as output_rejected, saying why, with no output and nothing charged
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "output_rejected"
    assert "Explicit" in job["error"]["message"]
    assert job["outputs"] == []
    assert maker.get("/v1/billing/balance").json()["credits"] == credits


def test_a_restricted_output_stays_private_and_publishing_or_sharing_it_is_403_with_the_reason(maker: ApiClient):
    # Given an output the moderation service finds suggestive
    job = generate(maker, "a beach flag:suggestive")
    assert job["status"] == "succeeded", job
    asset_id = job["outputs"][0]
    asset = maker.get(f"/v1/assets/{asset_id}").json()
    assert asset["restriction"] == "restricted:Non-Explicit Nudity of Intimate parts and Kissing"
    # When its owner publishes it, or makes a share link to it
    published = maker.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": "public"})
    shared = maker.post("/v1/shares", json={"target_type": "asset", "target_id": asset_id})
    # Then both are 403 with the reason, and it is still private
    for answer in (published, shared):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "content_restricted"
        assert answer.json()["error"]["details"] == {"reason": asset["restriction"]}
    assert maker.get(f"/v1/assets/{asset_id}").json()["visibility"] == "private"


def test_an_asset_says_it_carries_a_valid_manifest_and_the_file_does(maker: ApiClient):
    # Given an ordinary output
    job = generate(maker, "a red kite")
    assert job["status"] == "succeeded", job
    # When its owner reads the asset and downloads the file
    asset = maker.get(f"/v1/assets/{job['outputs'][0]}").json()
    content = httpx.get(asset["download_url"], timeout=30).content
    # Then the asset reports a valid manifest and the IPTC source type, and the file bears both out
    assert asset["provenance"] == {"c2pa": "valid", "digital_source_type": DIGITAL_SOURCE_TYPE}
    assert read_provenance(content, "image/png").c2pa == "valid"
    assert xmp_digital_source_type(content) == DIGITAL_SOURCE_TYPE
