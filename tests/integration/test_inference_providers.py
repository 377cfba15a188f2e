"""The adapters as the registry builds them from the stand-ins' environment, over real HTTP through
the local runtime's gateway: jobs run end to end on a real clock, timeouts are real timeouts, bodies
are streamed over sockets, and the switches work over HTTP as a developer would use them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from atelier.integrations.inference.base import (
    InferenceProvider,
    ProviderError,
    ProviderOutput,
    ProviderRejectedError,
    ProviderStatus,
)
from atelier.integrations.inference.media import probe
from atelier.integrations.inference.registry import forget_providers, provider_for
from local.inference import REPLICATE_PREFIX, RUNPOD_PREFIX
from tests.support.inference import (
    CALLBACK_URL,
    RUNPOD_ENDPOINT,
    ServedProviders,
    poll_until_final,
    request,
    served_providers,
)

MAX_BYTES = 20 * 1024 * 1024
QUICK = {"queue_seconds": 0.05, "run_seconds": 0.1, "timeout_sleep_seconds": 1.5}


@pytest.fixture(scope="module")
def served() -> Iterator[ServedProviders]:
    with served_providers(**QUICK) as providers:
        yield providers


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_providers()
    yield
    forget_providers()


def wait() -> None:
    time.sleep(0.06)


@pytest.mark.parametrize(
    ("provider", "kind", "model", "content_type"),
    [
        ("local", "image", "local-image", "image/png"),
        ("local", "video", "local-video", "video/mp4"),
        ("openai", "image", "gpt-image-1", "image/png"),
        ("modelark", "image", "seedream-4-0", "image/jpeg"),
        ("modelark", "video", "seedance-1-0-lite", "video/mp4"),
        ("runpod", "image", RUNPOD_ENDPOINT, "image/png"),
        ("runpod", "video", RUNPOD_ENDPOINT, "video/mp4"),
        ("replicate", "image", "black-forest-labs/flux-schnell", "image/png"),
        ("replicate", "video", "bytedance/seedance-1-lite", "video/mp4"),
    ],
)
def test_a_job_runs_end_to_end_over_http(served, provider, kind, model, content_type):
    # Given the adapter the registry builds from the settings the stand-ins give the local runtime
    adapter = provider_for(provider, served.settings())
    # When a job is submitted and polled on a real clock until it is final
    job = poll_until_final(adapter, adapter.submit(request(kind, model=model, params={"duration_s": 2})), wait=wait)
    # Then its output, fetched over the loopback socket, is the media asked for
    assert job.status is ProviderStatus.SUCCEEDED
    info = probe(adapter.fetch_output(job.outputs[0], max_bytes=MAX_BYTES))
    assert info.content_type == content_type
    if kind == "video":
        assert info.duration_s == pytest.approx(2.0, abs=0.15)


def test_a_provider_that_sleeps_past_the_timeout_is_a_retryable_timeout(served, monkeypatch):
    # Given adapters timing out after half a second, and a stand-in about to sleep far longer before
    # it makes the job and answers
    settings = served.settings(INFERENCE_HTTP_TIMEOUT_SECONDS="0.5")
    adapter = provider_for("runpod", settings)
    stand_in = served.stand_ins["runpod"]
    monkeypatch.setattr(stand_in, "timeout_sleep_seconds", 5.0)
    stand_in.faults.fail_next("timeout")
    jobs_before, requests_before = set(stand_in.jobs), len(stand_in.requests)
    # When a job is submitted
    with pytest.raises(ProviderError) as raised:
        adapter.submit(request("image", model=RUNPOD_ENDPOINT))
    # Then the request reached the provider, and the adapter gave up while the provider was still
    # working on it (the job the provider makes once awake is not there yet), saying it timed out
    assert len(stand_in.requests) == requests_before + 1
    assert set(stand_in.jobs) == jobs_before
    assert raised.value.details["reason"] == "timeout"


@pytest.mark.parametrize(("kind", "expected"), [("500", ProviderError), ("400", ProviderRejectedError)])
def test_faults_switched_on_over_http_reach_the_adapter(served, kind, expected):
    # Given a fault switched on as a developer would, over HTTP
    switched = httpx.post(f"{served.url}{REPLICATE_PREFIX}/_control/faults", json={"kind": kind, "times": 1})
    assert switched.json() == {"pending": [kind]}
    # Then the next call fails that way, and the one after works
    adapter = provider_for("replicate", served.settings())
    with pytest.raises(expected):
        adapter.submit(request("image", model="owner/model"))
    assert adapter.submit(request("image", model="owner/model")).status is ProviderStatus.QUEUED


def test_a_malformed_answer_over_http_is_retryable(served):
    httpx.post(f"{served.url}{RUNPOD_PREFIX}/_control/faults", json={"kind": "malformed"})
    with pytest.raises(ProviderError) as raised:
        provider_for("runpod", served.settings()).submit(request("image", model=RUNPOD_ENDPOINT))
    assert raised.value.details["reason"] == "malformed_answer"


def test_a_large_output_is_refused_while_streaming_over_the_socket(served):
    adapter = provider_for("modelark", served.settings())
    job = poll_until_final(adapter, adapter.submit(request("video", model="seedance")), wait=wait)
    with pytest.raises(ProviderRejectedError):
        adapter.fetch_output(job.outputs[0], max_bytes=2048)


def test_outside_the_local_runtime_a_loopback_output_is_never_fetched(served):
    # Given the same stand-in URLs, but settings of a deployed stack
    local_adapter = provider_for("replicate", served.settings())
    job = poll_until_final(local_adapter, local_adapter.submit(request("image", model="owner/model")), wait=wait)
    forget_providers()
    deployed: InferenceProvider = provider_for("replicate", served.settings(LOCAL_RUNTIME="false"))
    # Then the output on a loopback address is refused
    with pytest.raises(ProviderRejectedError):
        deployed.fetch_output(ProviderOutput(url=job.outputs[0].url), max_bytes=MAX_BYTES)


def test_replicate_calls_back_on_its_own_when_the_prediction_ends():
    # Given a Replicate stand-in that delivers webhooks as Replicate does, in the background
    with served_providers(**QUICK, deliver_in_background=True) as served:
        adapter = provider_for("replicate", served.settings())
        # When a prediction asking for a webhook is submitted and never polled
        job = adapter.submit(request("image", model="owner/model", callback_url=CALLBACK_URL))
        deadline = time.monotonic() + 30
        while not served.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        # Then one signed webhook arrived, and it names the prediction
        (delivery,) = served.deliveries
        assert delivery.url == CALLBACK_URL
        assert adapter.verify_callback(delivery.headers, delivery.body) == job.provider_job_id
        assert adapter.status(job.provider_job_id).status is ProviderStatus.SUCCEEDED
