"""Each HTTP adapter against its provider's stand-in: a job runs end to end into bytes whose probe
matches, every transient failure is retryable, every refusal is final, and cancelling does what the
provider allows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from atelier.integrations.inference.base import (
    CallbackSignatureError,
    GenerationRequest,
    InferenceProvider,
    ProviderError,
    ProviderOutput,
    ProviderRejectedError,
    ProviderStatus,
)
from atelier.integrations.inference.media import probe
from atelier.integrations.inference.registry import new_http_client
from atelier.integrations.inference.replicate import ReplicateProvider
from atelier.integrations.inference.runpod import RunPodProvider
from atelier.integrations.resilience import DEFAULT_RETRY_POLICY
from tests.support.inference import (
    CALLBACK_URL,
    RUNPOD_ENDPOINT,
    ProviderNetwork,
    request,
)

MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture
def network() -> ProviderNetwork:
    return ProviderNetwork()


@dataclass(frozen=True)
class Case:
    """One provider and one kind of job it runs."""

    provider: str
    kind: str
    model: str
    params: dict[str, Any]
    content_type: str
    size: tuple[int, int]

    def adapter(self, network: ProviderNetwork) -> InferenceProvider:
        adapter: InferenceProvider = getattr(network, self.provider)()
        return adapter

    def request(self, prompt: str = "A lighthouse at dusk", **changes: Any) -> GenerationRequest:
        return request(self.kind, prompt, model=self.model, params=self.params, **changes)

    def __str__(self) -> str:
        return f"{self.provider}-{self.kind}"


# The stand-ins draw images at most 1024 pixels a side (aspect kept), videos at 256x256.
CASES = [
    Case("openai", "image", "gpt-image-1", {"size": "1024x1536", "output_format": "webp"}, "image/webp", (683, 1024)),
    Case("modelark", "image", "seedream-4-0-250828", {"size": "960x720"}, "image/jpeg", (960, 720)),
    Case("modelark", "video", "seedance-1-0-pro", {"duration_s": 3, "resolution": "480p"}, "video/mp4", (256, 256)),
    Case("runpod", "image", RUNPOD_ENDPOINT, {"width": 640, "height": 384}, "image/png", (640, 384)),
    Case("runpod", "video", RUNPOD_ENDPOINT, {"duration_s": 2}, "video/mp4", (256, 256)),
    Case("replicate", "image", "black-forest-labs/flux-dev", {"width": 512, "height": 320}, "image/png", (512, 320)),
    Case("replicate", "video", "bytedance/seedance-1-lite", {"duration_s": 2}, "video/mp4", (256, 256)),
]
ASYNCHRONOUS = [case for case in CASES if not (case.provider in ("openai", "modelark") and case.kind == "image")]


# ------------------------------------------------------------------------------------------
# A job end to end.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_job_runs_to_bytes_whose_probe_matches(network, case):
    # Given the provider's adapter over its stand-in
    adapter = case.adapter(network)
    # When a job is submitted and looked at until it is final
    job = network.run_to_end(adapter, adapter.submit(case.request()))
    # Then it succeeded with one output whose bytes are the media asked for
    assert job.status is ProviderStatus.SUCCEEDED
    assert job.charged
    assert len(job.outputs) == 1
    info = probe(adapter.fetch_output(job.outputs[0], max_bytes=MAX_BYTES), job.outputs[0].content_type)
    assert info.content_type == case.content_type
    assert (info.width, info.height) == case.size
    if case.kind == "video":
        assert info.duration_s == pytest.approx(case.params["duration_s"], abs=0.15)


@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
def test_an_asynchronous_job_is_queued_then_running_then_done(network, case):
    # Given an asynchronous provider
    adapter = case.adapter(network)
    # When a job is submitted, looked at while it runs, and once it is due
    submitted = adapter.submit(case.request())
    network.clock.advance(1.5)
    first = adapter.status(submitted.provider_job_id)
    network.clock.advance(2.0)
    second = adapter.status(submitted.provider_job_id)
    # Then it moves through the normalised states, always under the provider's own job id
    assert [submitted.status, first.status, second.status] == [
        ProviderStatus.QUEUED,
        ProviderStatus.RUNNING,
        ProviderStatus.SUCCEEDED,
    ]
    assert submitted.provider_job_id == first.provider_job_id == second.provider_job_id


def test_synchronous_images_answer_the_final_state_with_the_image_inline(network):
    # Given OpenAI Images and Seedream, which answer once the image exists
    for adapter, model in ((network.openai(), "gpt-image-1"), (network.modelark(), "seedream-4-0")):
        # When an image is submitted
        job = adapter.submit(request("image", model=model))
        # Then the job is already done, its bytes inline, named by the provider's request id
        assert job.status is ProviderStatus.SUCCEEDED
        assert job.outputs[0].content is not None
        assert job.provider_job_id.startswith("req_")


def test_runpod_reports_execution_time_as_compute_seconds_and_names_its_endpoint(network):
    # Given a RunPod job run to the end
    adapter = network.runpod()
    job = network.run_to_end(adapter, adapter.submit(request("image", model=RUNPOD_ENDPOINT)))
    # Then the job id carries the endpoint, and executionTime became seconds of compute
    endpoint, _, runpod_id = job.provider_job_id.partition(":")
    assert endpoint == RUNPOD_ENDPOINT
    assert runpod_id in network.stand_in("runpod").jobs
    assert job.compute_seconds == pytest.approx(2.0)


def test_replicate_reports_predict_time_and_progress(network):
    # Given a Replicate prediction
    adapter = network.replicate()
    submitted = adapter.submit(request("image", model="stability-ai/sdxl"))
    # When it is running, then done after two seconds of running
    network.clock.advance(1.5)
    running = adapter.status(submitted.provider_job_id)
    network.clock.advance(2.0)
    done = adapter.status(submitted.provider_job_id)
    # Then the progress bar in its logs and its predict_time come through
    assert running.progress == pytest.approx(0.5)
    assert done.compute_seconds == pytest.approx(2.5)


def test_runpod_sends_the_prompt_and_params_as_the_endpoint_input(network):
    # Given a RunPod job with a negative prompt and references
    adapter = network.runpod()
    adapter.submit(
        request(
            "image",
            model=RUNPOD_ENDPOINT,
            negative_prompt="blurry",
            params={"steps": 20},
            reference_image_urls=["https://uploads.example/ref.png"],
        )
    )
    # Then the endpoint received one input object carrying all of it, authorised by the key
    method, subpath, headers, body = network.stand_in("runpod").requests[-1]
    assert (method, subpath) == ("POST", f"/v2/{RUNPOD_ENDPOINT}/run")
    assert json.loads(body)["input"] == {
        "prompt": "A lighthouse at dusk",
        "negative_prompt": "blurry",
        "seed": 7,
        "kind": "image",
        "reference_image_urls": ["https://uploads.example/ref.png"],
        "steps": 20,
    }
    assert headers["authorization"].startswith("Bearer ")


def test_seedance_gets_the_prompt_references_and_params_as_task_fields(network):
    # Given a Seedance job with a first-frame reference and Atelier's duration_s
    network.modelark().submit(
        request(
            "video",
            model="seedance-1-0-pro",
            params={"duration_s": 5, "resolution": "720p"},
            reference_image_urls=["https://uploads.example/first.png"],
        )
    )
    # Then the task carries the text and the image as content, and the params as fields
    method, subpath, headers, body = network.stand_in("modelark").requests[-1]
    sent = json.loads(body)
    assert (method, subpath) == ("POST", "/api/v3/contents/generations/tasks")
    assert sent["content"] == [
        {"type": "text", "text": "A lighthouse at dusk"},
        {"type": "image_url", "image_url": {"url": "https://uploads.example/first.png"}, "role": "first_frame"},
    ]
    assert (sent["duration"], sent["resolution"], sent["seed"], sent["watermark"]) == (5, "720p", 7, True)
    assert headers["authorization"] == "Bearer ark-atelier-local"


@pytest.mark.parametrize("watermark", [True, False])
def test_modelark_watermarks_outputs_unless_the_model_turns_it_off(network: Any, watermark: bool) -> None:
    # Given a ModelArk image model whose catalog entry asks for the provider's watermark, or not (P18)
    # When a job is submitted
    network.modelark().submit(request("image", model="seedream-4-0", watermark=watermark))
    # Then the provider is asked for exactly that
    _, _, _, body = network.stand_in("modelark").requests[-1]
    assert json.loads(body)["watermark"] is watermark


@pytest.mark.parametrize(
    ("model", "path", "version"),
    [
        ("black-forest-labs/flux-schnell", "/v1/models/black-forest-labs/flux-schnell/predictions", None),
        ("stability-ai/sdxl:" + "a" * 64, "/v1/predictions", "a" * 64),
        ("b" * 64, "/v1/predictions", "b" * 64),
    ],
)
def test_replicate_runs_an_official_model_or_a_version(network, model, path, version):
    # Given a Replicate model named with or without a version
    adapter = network.replicate()
    # When a job with a callback URL is submitted
    adapter.submit(request("image", model=model, callback_url=CALLBACK_URL))
    # Then the matching endpoint was called, asking for one webhook on completion
    method, subpath, _, body = network.stand_in("replicate").requests[-1]
    sent = json.loads(body)
    assert (method, subpath) == ("POST", path)
    assert sent.get("version") == version
    assert sent["webhook"] == CALLBACK_URL
    assert sent["webhook_events_filter"] == ["completed"]
    assert sent["input"]["prompt"] == "A lighthouse at dusk"


def test_replicate_without_a_callback_url_asks_for_no_webhook(network):
    network.replicate().submit(request("image", model="owner/model"))
    sent = json.loads(network.stand_in("replicate").requests[-1][3])
    assert "webhook" not in sent
    assert "webhook_events_filter" not in sent


def test_a_completed_replicate_prediction_calls_back_once_signed(network):
    # Given a prediction submitted with a callback URL
    adapter = network.replicate()
    job = network.run_to_end(adapter, adapter.submit(request("image", model="owner/model", callback_url=CALLBACK_URL)))
    # Then exactly one signed webhook went out, naming the prediction
    assert len(network.deliveries) == 1
    delivery = network.deliveries[0]
    assert delivery.url == CALLBACK_URL
    assert adapter.verify_callback(delivery.headers, delivery.body) == job.provider_job_id


# ------------------------------------------------------------------------------------------
# Failures.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("fault", ["429", "500", "timeout", "malformed"])
def test_transient_failures_on_submit_are_retryable(network, case, fault):
    # Given a provider that fails the next call in a way that may pass
    adapter = case.adapter(network)
    network.stand_in(case.provider).faults.fail_next(fault)
    # When a job is submitted, then it is a ProviderError (retry), and nothing else
    with pytest.raises(ProviderError) as raised:
        adapter.submit(case.request())
    assert not isinstance(raised.value, ProviderRejectedError)
    assert raised.value.details["provider"] == case.provider


@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
@pytest.mark.parametrize("fault", ["429", "500", "timeout", "malformed"])
def test_transient_failures_on_status_are_retryable_and_the_job_goes_on(network, case, fault):
    # Given a submitted job and a provider that fails every attempt of the next look
    adapter = case.adapter(network)
    submitted = adapter.submit(case.request())
    network.stand_in(case.provider).faults.fail_next(fault, times=DEFAULT_RETRY_POLICY.attempts)
    # When it is looked at, it is a ProviderError...
    with pytest.raises(ProviderError):
        adapter.status(submitted.provider_job_id)
    # ...and the next looks find the job as if nothing happened
    assert network.run_to_end(adapter, submitted).status is ProviderStatus.SUCCEEDED


@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
@pytest.mark.parametrize("fault", ["429", "500", "timeout", "malformed"])
def test_a_passing_failure_on_a_look_is_retried_in_process(network, case, fault, provider_retries_never_wait):
    # Given a submitted job and a provider that fails the next look once
    adapter = case.adapter(network)
    submitted = adapter.submit(case.request())
    network.stand_in(case.provider).faults.fail_next(fault)
    # When it is looked at, the look is made again after a wait, and answers
    assert adapter.status(submitted.provider_job_id).provider_job_id == submitted.provider_job_id
    assert len(provider_retries_never_wait) == 1
    # (a 429 says Retry-After: 2, which the wait honours)
    if fault == "429":
        assert provider_retries_never_wait[0] >= 2


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_submit_without_an_idempotency_key_is_made_once(network, case, provider_retries_never_wait):
    # Given a provider that fails the next call with a 500
    adapter = case.adapter(network)
    stand_in = network.stand_in(case.provider)
    stand_in.faults.fail_next("500")
    calls_before = len(stand_in.requests)
    # When a job is submitted, it fails at once: no provider takes an idempotency key on submit
    with pytest.raises(ProviderError):
        adapter.submit(case.request())
    assert len(stand_in.requests) == calls_before + 1
    assert provider_retries_never_wait == []


def test_a_rate_limit_passes_on_the_providers_retry_after(network):
    network.stand_in("replicate").faults.fail_next("429")
    with pytest.raises(ProviderError) as raised:
        network.replicate().submit(request("image", model="owner/model"))
    assert raised.value.retry_after_seconds == 2
    assert raised.value.details["status"] == 429


def test_a_timeout_is_named_as_such(network):
    network.stand_in("openai").faults.fail_next("timeout")
    with pytest.raises(ProviderError) as raised:
        network.openai().submit(request("image", model="gpt-image-1"))
    assert raised.value.details["reason"] == "timeout"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_400_is_a_final_refusal(network, case):
    # Given a provider that answers the next call with a 400
    adapter = case.adapter(network)
    network.stand_in(case.provider).faults.fail_next("400")
    # Then submitting is refused for good
    with pytest.raises(ProviderRejectedError) as raised:
        adapter.submit(case.request())
    assert raised.value.details["status"] == 400


@pytest.mark.parametrize(
    ("case", "code"),
    [
        (CASES[0], "moderation_blocked"),
        (CASES[1], "InputTextSensitiveContentDetected"),
        (CASES[2], "InputTextSensitiveContentDetected"),
    ],
    ids=str,
)
def test_a_content_policy_refusal_is_final_and_carries_the_providers_code(network, case, code):
    with pytest.raises(ProviderRejectedError) as raised:
        case.adapter(network).submit(case.request("A [blocked] scene"))
    assert raised.value.details["code"] == code


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_wrong_key_is_a_broken_dependency_not_a_refused_job(network, case):
    # Given an adapter holding a key the provider does not know
    key_field = "api_token" if case.provider == "replicate" else "api_key"
    adapter = getattr(network, case.provider)(**{key_field: "not-the-key"})
    # Then the job is not failed for good: the key is ours to fix, and a retry will pass
    with pytest.raises(ProviderError) as raised:
        adapter.submit(case.request())
    assert not isinstance(raised.value, ProviderRejectedError)
    assert raised.value.details["status"] == 401


def test_an_unconfigured_key_is_a_broken_dependency_and_nothing_is_sent(network):
    adapter = network.openai(api_key="")
    with pytest.raises(ProviderError):
        adapter.submit(request("image", model="gpt-image-1"))
    assert not network.stand_in("openai").requests


@pytest.mark.parametrize(
    ("case", "charged"),
    [(ASYNCHRONOUS[0], False), (ASYNCHRONOUS[1], True), (ASYNCHRONOUS[3], True)],
    ids=str,
)
def test_a_failed_generation_is_final_and_charged_as_the_provider_bills(network, case, charged):
    # Given a job the model fails (ModelArk bills only success; RunPod and Replicate bill run time)
    adapter = case.adapter(network)
    job = network.run_to_end(adapter, adapter.submit(case.request("A [fail] scene")))
    # Then it is FAILED with a code and a short message, charged as the provider charges
    assert job.status is ProviderStatus.FAILED
    assert job.error_code
    assert job.error_message
    assert "Traceback" not in job.error_message
    assert job.charged is charged
    assert not job.outputs


def test_a_seedream_image_the_model_refuses_fails_uncharged(network):
    job = network.modelark().submit(request("image", "A [fail] scene", model="seedream-4-0"))
    assert job.status is ProviderStatus.FAILED
    assert job.error_code == "OutputImageSensitiveContentDetected"
    assert job.charged is False


def test_openai_makes_no_videos(network):
    with pytest.raises(ProviderRejectedError):
        network.openai().submit(request("video", model="gpt-image-1"))


@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
def test_an_unknown_job_is_a_final_refusal(network, case):
    adapter = case.adapter(network)
    unknown = f"{RUNPOD_ENDPOINT}:no-such-job" if case.provider == "runpod" else "cgt-no-such-task"
    with pytest.raises(ProviderRejectedError):
        adapter.status(unknown)


# ------------------------------------------------------------------------------------------
# Cancelling.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
def test_a_queued_job_is_cancelled_uncharged(network, case):
    # Given a job still queued
    adapter = case.adapter(network)
    submitted = adapter.submit(case.request())
    # When it is cancelled
    accepted = adapter.cancel(submitted.provider_job_id)
    # Then the provider accepted, and the job is CANCELED without a charge
    job = adapter.status(submitted.provider_job_id)
    assert accepted is True
    assert job.status is ProviderStatus.CANCELED
    assert job.charged is False


@pytest.mark.parametrize("case", ASYNCHRONOUS, ids=str)
def test_a_finished_job_cannot_be_cancelled_and_keeps_its_output(network, case):
    # Given a job that already succeeded
    adapter = case.adapter(network)
    job = network.run_to_end(adapter, adapter.submit(case.request()))
    # When it is cancelled, the provider says no, and the job and its output are still there
    assert adapter.cancel(job.provider_job_id) is False
    again = adapter.status(job.provider_job_id)
    assert again.status is ProviderStatus.SUCCEEDED
    assert adapter.fetch_output(again.outputs[0], max_bytes=MAX_BYTES)


def test_a_running_seedance_task_cannot_be_cancelled_and_is_never_deleted(network):
    # Given a Seedance task already running (ModelArk cancels only queued tasks)
    adapter = network.modelark()
    submitted = adapter.submit(request("video", model="seedance"))
    network.clock.advance(1.5)
    assert adapter.status(submitted.provider_job_id).status is ProviderStatus.RUNNING
    # When it is cancelled
    accepted = adapter.cancel(submitted.provider_job_id)
    # Then the adapter looked and did not ask ModelArk to delete it
    assert accepted is False
    assert [method for method, *_ in network.stand_in("modelark").requests][-1] == "GET"
    assert network.run_to_end(adapter, submitted).status is ProviderStatus.SUCCEEDED


def test_openai_cancels_nothing(network):
    assert network.openai().cancel("req_123") is False


# ------------------------------------------------------------------------------------------
# Callbacks the adapters do not take.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["openai", "modelark", "runpod"])
def test_providers_that_do_not_sign_callbacks_have_none_accepted(network, provider):
    adapter: InferenceProvider = getattr(network, provider)()
    with pytest.raises(CallbackSignatureError):
        adapter.verify_callback({"content-type": "application/json"}, b'{"id": "x", "status": "COMPLETED"}')


# ------------------------------------------------------------------------------------------
# Outputs.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[6]], ids=str)
def test_an_output_larger_than_allowed_is_refused(network, case):
    # Given a finished video, whose URL the adapter fetches
    adapter = case.adapter(network)
    job = network.run_to_end(adapter, adapter.submit(case.request()))
    # When it is fetched with a limit below its size, it is refused
    with pytest.raises(ProviderRejectedError):
        adapter.fetch_output(job.outputs[0], max_bytes=1000)


def test_an_inline_output_larger_than_allowed_is_refused(network):
    job = network.openai().submit(request("image", model="gpt-image-1"))
    with pytest.raises(ProviderRejectedError):
        network.openai().fetch_output(job.outputs[0], max_bytes=100)


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/out.png",  # not https
        "https://cdn.example.com/out.png",  # not the provider's host
        "https://127.0.0.1/out.png",  # loopback
        "https://169.254.169.254/latest/meta-data",  # link-local (instance metadata)
        "http://providers.test:8080/files/x",  # the stand-in's host, another port
        "file:///etc/passwd",
        "https://user:pass@replicate.delivery/x.png",
    ],
)
@pytest.mark.parametrize("provider", ["openai", "modelark", "runpod", "replicate"])
def test_outputs_are_never_fetched_from_elsewhere(network, provider, url):
    # Given an output URL that is not on the provider's own HTTPS host
    adapter: InferenceProvider = getattr(network, provider)()
    output = ProviderOutput(url=url)
    # Then it is refused before anything is sent
    calls_before = sum(len(stand_in.requests) for stand_in in network.stand_ins.values())
    with pytest.raises(ProviderRejectedError):
        adapter.fetch_output(output, max_bytes=MAX_BYTES)
    assert sum(len(stand_in.requests) for stand_in in network.stand_ins.values()) == calls_before


def test_a_download_that_fails_in_transit_every_time_is_retryable(network):
    # Given an output whose host fails every attempt of the download
    adapter = network.modelark()
    job = network.run_to_end(adapter, adapter.submit(request("video", model="seedance")))
    network.stand_in("modelark").faults.fail_next("500", times=DEFAULT_RETRY_POLICY.attempts)
    # When it is fetched, then it is a ProviderError (the queue tries again), not a refusal
    with pytest.raises(ProviderError) as raised:
        adapter.fetch_output(job.outputs[0], max_bytes=MAX_BYTES)
    assert not isinstance(raised.value, ProviderRejectedError)


def test_a_download_that_fails_once_is_made_again_at_once(network, provider_retries_never_wait):
    # Given an output whose host answers 500 once
    adapter = network.modelark()
    job = network.run_to_end(adapter, adapter.submit(request("video", model="seedance")))
    network.stand_in("modelark").faults.fail_next("500")
    # When it is fetched, then the download is made again after one wait and gives the video
    content = adapter.fetch_output(job.outputs[0], max_bytes=MAX_BYTES)
    assert probe(content, "video/mp4").content_type == "video/mp4"
    assert len(provider_retries_never_wait) == 1


def test_a_missing_output_file_is_a_final_refusal(network):
    adapter = network.replicate()
    job = network.run_to_end(adapter, adapter.submit(request("image", model="owner/model")))
    gone = job.outputs[0].model_copy(update={"url": job.outputs[0].url + "-gone"})
    with pytest.raises(ProviderRejectedError):
        adapter.fetch_output(gone, max_bytes=MAX_BYTES)


def test_the_adapters_clients_never_follow_redirects_and_time_out():
    client = new_http_client(12.0)
    assert client.follow_redirects is False
    assert (client.timeout.connect, client.timeout.read) == (5.0, 12.0)


# ------------------------------------------------------------------------------------------
# Output shapes the endpoint or model decides.
# ------------------------------------------------------------------------------------------
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8).decode()


def answering(body: dict[str, Any]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body)))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"images": [PNG, "https://bucket.example/a.png"]}, [("content", "image/png"), ("url", None)]),
        ({"image": f"data:image/png;base64,{PNG}"}, [("content", "image/png")]),
        ({"video": "https://bucket.example/v.mp4"}, [("url", "video/mp4")]),
        ({"videos": [{"url": "https://bucket.example/v.mp4"}]}, [("url", "video/mp4")]),
        ({"images": [{"type": "base64", "data": PNG, "filename": "x.png"}]}, [("content", "image/png")]),
        ([{"image": "https://bucket.example/a.png", "seed": 4}], [("url", None)]),
    ],
)
def test_runpod_accepts_the_documented_output_shapes(output, expected):
    body = {"id": "job-1", "status": "COMPLETED", "executionTime": 1500, "output": output}
    adapter = RunPodProvider(api_key="k", http=answering(body))
    job = adapter.status(f"{RUNPOD_ENDPOINT}:job-1")
    assert job.status is ProviderStatus.SUCCEEDED
    assert [("content" if item.content else "url", item.content_type) for item in job.outputs] == expected
    assert job.compute_seconds == 1.5


@pytest.mark.parametrize("output", [None, {"text": "done"}, {"images": ["not base64!"]}, "plain text"])
def test_a_runpod_job_completed_without_media_is_a_failure(output):
    body = {"id": "job-1", "status": "COMPLETED", "executionTime": 900, "output": output}
    job = RunPodProvider(api_key="k", http=answering(body)).status(f"{RUNPOD_ENDPOINT}:job-1")
    assert (job.status, job.error_code, job.charged) == (ProviderStatus.FAILED, "no_output", True)


def test_a_runpod_job_that_timed_out_is_a_failure_with_its_code():
    body = {"id": "job-1", "status": "TIMED_OUT", "executionTime": 600000}
    job = RunPodProvider(api_key="k", http=answering(body)).status(f"{RUNPOD_ENDPOINT}:job-1")
    assert (job.status, job.error_code, job.compute_seconds) == (ProviderStatus.FAILED, "timed_out", 600.0)


@pytest.mark.parametrize(
    ("output", "count"),
    [
        ("https://replicate.delivery/a.png", 1),
        (["https://replicate.delivery/a.png", "https://replicate.delivery/b.png"], 2),
        ({"video": "https://replicate.delivery/v.mp4", "poster": "https://replicate.delivery/p.png"}, 2),
        (f"data:image/png;base64,{PNG}", 1),
    ],
)
def test_replicate_accepts_a_url_a_list_or_an_object_of_them(output, count):
    body = {"id": "p1", "status": "succeeded", "output": output, "metrics": {"predict_time": 3.2}}
    job = ReplicateProvider(api_token="t", http=answering(body)).status("p1")
    assert (job.status, len(job.outputs), job.compute_seconds) == (ProviderStatus.SUCCEEDED, count, 3.2)


def test_an_aborted_replicate_prediction_failed_uncharged():
    body = {"id": "p1", "status": "aborted", "metrics": {}}
    job = ReplicateProvider(api_token="t", http=answering(body)).status("p1")
    assert (job.status, job.error_code, job.charged) == (ProviderStatus.FAILED, "aborted", False)


def test_an_unknown_status_is_a_malformed_answer():
    with pytest.raises(ProviderError):
        ReplicateProvider(api_token="t", http=answering({"id": "p1", "status": "teleported"})).status("p1")
