"""Providers that call back, over real HTTP: the local runtime mounts the RunPod, ModelArk and
Replicate stand-ins, a job on each asks for a callback to `<ApiBaseUrl>/v1/webhooks/providers/
{provider}`, the stand-in calls back when the job ends, and the callback's look finishes the job
long before the first poll (the models say they take ten minutes)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from atelier.data.accounts import AccountRepository
from atelier.settings import _default_models
from local.inference import RUNPOD_API_KEY, ProviderStandIn, provider_stand_ins
from local.runtime import LocalRuntime, default_stand_ins
from local.standins import LocalResponse, StandIn
from tests.support.client import ApiClient, signed_in
from tests.support.money import give_credits
from tests.support.stack import running_stack

TEN_MINUTES = 600
MODELS = [
    {"id": "cb-runpod", "provider": "runpod", "provider_model": "sdxl-local", "kind": "image"},
    {"id": "cb-replicate", "provider": "replicate", "provider_model": "owner/callback-model", "kind": "image"},
    {"id": "cb-modelark", "provider": "modelark", "provider_model": "seedance-1-0-lite", "kind": "video"},
]


def models_environment(_: str) -> dict[str, str]:
    extra = [model | {"name": model["id"], "price": {"base": 1}, "expected_seconds": TEN_MINUTES} for model in MODELS]
    return {"MODELS": json.dumps([*_default_models(), *extra])}


@pytest.fixture(scope="module")
def providers() -> dict[str, ProviderStandIn]:
    return {stand_in.name: stand_in for stand_in in provider_stand_ins(queue_seconds=0.1, run_seconds=0.3)}


@pytest.fixture(scope="module")
def callback_stack(providers) -> Iterator[LocalRuntime]:
    models = StandIn("/_local/callback-models", lambda _: LocalResponse(404, b"", []), "", models_environment)
    stand_ins = [*default_stand_ins(), *(stand_in.stand_in() for stand_in in providers.values()), models]
    with running_stack(stand_ins=stand_ins) as stack:
        yield stack


@pytest.fixture(scope="module")
def maker(callback_stack) -> Iterator[ApiClient]:
    client = signed_in(callback_stack.api_url, "callbacks@example.com")
    version = client.get("/v1/policies/terms").json()["version"]
    client.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
    give_credits(AccountRepository().require(client.get("/v1/me").json()["id"]), 100)
    yield client
    client.close()


def wait_for(client: ApiClient, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The job once final; the first poll would come after seven minutes, so only a callback can
    finish it within the bound."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} was not finished by a callback")


@pytest.mark.parametrize("model", MODELS, ids=[model["provider"] for model in MODELS])
def test_a_provider_that_calls_back_finishes_the_job_at_once(maker, providers, model):
    # Given a model on a provider that calls back, expected to take ten minutes
    stand_in = providers[model["provider"]]
    callbacks_before = len(stand_in.callbacks)
    # When a job is submitted over HTTP
    submitted = maker.post("/v1/jobs", json={"kind": model["kind"], "model": model["id"], "prompt": "a kite"})
    assert submitted.status_code == 202, submitted.text
    # Then the provider called back to the runtime, and the job succeeded without waiting for a poll
    job = wait_for(maker, submitted.json()["id"])
    assert job["status"] == "succeeded", job
    [callback] = stand_in.callbacks[callbacks_before:]
    assert callback.url.startswith(f"{maker.base_url}/v1/webhooks/providers/{model['provider']}")


def test_a_runpod_callback_without_its_token_is_refused_over_http(maker):
    # Given a RunPod-shaped callback that does not carry the token of the callback URL
    body = json.dumps({"id": "job-x", "status": "COMPLETED"}).encode()
    # When it is posted to the webhook route, then it is refused and prompts nothing
    answer = maker.post(
        "/v1/webhooks/providers/runpod?job=job_x&endpoint=sdxl-local&token=" + "0" * 32,
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {RUNPOD_API_KEY}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_signature"
