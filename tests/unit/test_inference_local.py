"""The local provider makes real, deterministic media on the CPU, and its steering prompts make the
worker's every path reachable without a GPU or an account."""

from __future__ import annotations

import io

import av
import pytest
from PIL import Image, ImageChops

from atelier.integrations.inference.base import CallbackSignatureError, ProviderRejectedError, ProviderStatus
from atelier.integrations.inference.local import LocalJobStore, LocalProvider, video_codec
from atelier.integrations.inference.media import probe
from tests.support.inference import request


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider(LocalJobStore())


def image_bytes(provider: LocalProvider, prompt: str = "A lighthouse at dusk", **changes) -> bytes:
    job = provider.submit(request("image", prompt, model="local-image", **changes))
    assert job.status is ProviderStatus.SUCCEEDED
    content = job.outputs[0].content
    assert content is not None
    return content


# ------------------------------------------------------------------------------------------
# Images.
# ------------------------------------------------------------------------------------------
def test_an_image_is_a_png_at_the_asked_size_answered_at_once(provider):
    # When an image is asked for at 640x360
    job = provider.submit(request("image", model="local-image", params={"width": 640, "height": 360}))
    # Then the job is done at once, with one PNG Pillow decodes at that size
    assert job.status is ProviderStatus.SUCCEEDED
    assert job.outputs[0].content_type == "image/png"
    with Image.open(io.BytesIO(job.outputs[0].content or b"")) as image:
        image.load()
        assert (image.format, image.size) == ("PNG", (640, 360))
    assert job.compute_seconds is not None


def test_an_image_defaults_to_512_square_and_takes_a_size_string(provider):
    assert probe(image_bytes(provider)).width == 512
    info = probe(image_bytes(provider, params={"size": "300x200"}))
    assert (info.width, info.height) == (300, 200)


def test_the_same_request_gives_the_same_bytes(provider):
    assert image_bytes(provider, seed=3) == image_bytes(provider, seed=3)


def test_another_prompt_gives_other_bytes(provider):
    assert image_bytes(provider, "A lighthouse at dusk") != image_bytes(provider, "A lighthouse at dawn")


def test_another_seed_gives_other_bytes(provider):
    assert image_bytes(provider, seed=1) != image_bytes(provider, seed=2)


def test_the_picture_itself_depends_on_the_prompt(provider):
    # Not just the bytes: the pixels differ, beyond the caption strip at the bottom
    first = Image.open(io.BytesIO(image_bytes(provider, "red"))).convert("RGB").crop((0, 40, 512, 400))
    second = Image.open(io.BytesIO(image_bytes(provider, "blue"))).convert("RGB").crop((0, 40, 512, 400))
    differing = sum(ImageChops.difference(first, second).convert("L").histogram()[1:])
    assert differing > 0.25 * first.width * first.height


def test_a_failing_image_fails_uncharged(provider):
    job = provider.submit(request("image", "A [fail] scene", model="local-image"))
    assert job.status is ProviderStatus.FAILED
    assert (job.error_code, job.charged, job.outputs) == ("generation_failed", False, [])


def test_a_slow_image_takes_the_asynchronous_path(provider):
    # Given an image asked to be slow for two looks
    job = provider.submit(request("image", "A [slow] scene", model="local-image", params={"slow_polls": 2}))
    # Then it is queued, running twice with progress, then done
    looks = [provider.status(job.provider_job_id) for _ in range(3)]
    assert job.status is ProviderStatus.QUEUED
    assert [look.status for look in looks] == [ProviderStatus.RUNNING, ProviderStatus.RUNNING, ProviderStatus.SUCCEEDED]
    assert looks[0].progress is not None
    assert looks[1].progress is not None
    assert 0 < looks[0].progress < looks[1].progress < 1
    assert probe(looks[2].outputs[0].content or b"").content_type == "image/png"


def test_slow_means_three_looks_unless_told(provider):
    job = provider.submit(request("image", "[slow]", model="local-image"))
    statuses = [provider.status(job.provider_job_id).status for _ in range(4)]
    assert statuses == [ProviderStatus.RUNNING] * 3 + [ProviderStatus.SUCCEEDED]


# ------------------------------------------------------------------------------------------
# Videos.
# ------------------------------------------------------------------------------------------
def test_a_video_is_queued_then_rendered_on_the_first_look(provider):
    # When a three-second video is asked for
    submitted = provider.submit(request("video", model="local-video", params={"duration_s": 3}))
    looked = provider.status(submitted.provider_job_id)
    # Then it was queued, and the first look found an H.264 MP4 PyAV decodes
    assert submitted.status is ProviderStatus.QUEUED
    assert submitted.outputs == []
    assert looked.status is ProviderStatus.SUCCEEDED
    content = looked.outputs[0].content or b""
    with av.open(io.BytesIO(content)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(video=0))
        assert stream.codec_context.name == ("h264" if video_codec() == "libx264" else "mpeg4")
        assert (stream.width, stream.height) == (256, 256)
    assert len(frames) == 30
    assert probe(content).duration_s == pytest.approx(3.0, abs=0.15)


def test_a_video_is_never_longer_than_four_seconds(provider):
    job = provider.submit(request("video", model="local-video", params={"duration_s": 30, "fps": 8}))
    info = probe(provider.status(job.provider_job_id).outputs[0].content or b"")
    assert info.duration_s == pytest.approx(4.0, abs=0.15)


def test_a_video_takes_its_length_from_duration_too(provider):
    job = provider.submit(request("video", model="local-video", params={"duration": 1.5}))
    info = probe(provider.status(job.provider_job_id).outputs[0].content or b"")
    assert info.duration_s == pytest.approx(1.5, abs=0.15)


def test_the_same_video_request_gives_the_same_bytes(provider):
    def render() -> bytes:
        job = provider.submit(request("video", model="local-video", params={"duration_s": 1}))
        return provider.status(job.provider_job_id).outputs[0].content or b""

    assert render() == render()


def test_looking_again_answers_the_same_finished_job(provider):
    job = provider.submit(request("video", model="local-video", params={"duration_s": 1}))
    first = provider.status(job.provider_job_id)
    assert provider.status(job.provider_job_id) == first


def test_a_failing_video_fails_uncharged_on_the_first_look(provider):
    job = provider.submit(request("video", "A [fail] scene", model="local-video"))
    looked = provider.status(job.provider_job_id)
    assert job.status is ProviderStatus.QUEUED
    assert (looked.status, looked.error_code, looked.charged) == (ProviderStatus.FAILED, "generation_failed", False)


# ------------------------------------------------------------------------------------------
# Cancelling, the store, callbacks.
# ------------------------------------------------------------------------------------------
def test_a_queued_video_is_cancelled_uncharged_and_never_rendered(provider):
    job = provider.submit(request("video", model="local-video"))
    assert provider.cancel(job.provider_job_id) is True
    looked = provider.status(job.provider_job_id)
    assert (looked.status, looked.charged, looked.outputs) == (ProviderStatus.CANCELED, False, [])


def test_a_running_job_cancelled_is_charged_for_the_work_started(provider):
    job = provider.submit(request("video", "[slow]", model="local-video"))
    provider.status(job.provider_job_id)
    assert provider.cancel(job.provider_job_id) is True
    assert provider.status(job.provider_job_id).charged is True


def test_a_finished_job_cannot_be_cancelled(provider):
    job = provider.submit(request("video", model="local-video", params={"duration_s": 1}))
    provider.status(job.provider_job_id)
    assert provider.cancel(job.provider_job_id) is False
    assert provider.cancel("loc_unknown") is False


def test_an_unknown_job_is_refused(provider):
    with pytest.raises(ProviderRejectedError):
        provider.status("loc_unknown")


def test_the_store_forgets_the_oldest_jobs_past_its_size():
    provider = LocalProvider(LocalJobStore(max_jobs=2))
    first, *_ = [provider.submit(request("video", model="local-video")) for _ in range(3)]
    with pytest.raises(ProviderRejectedError):
        provider.status(first.provider_job_id)


def test_adapters_share_one_store_per_process():
    job = LocalProvider().submit(request("video", model="local-video", params={"duration_s": 1}))
    assert LocalProvider().status(job.provider_job_id).status is ProviderStatus.SUCCEEDED


def test_outputs_are_inline_and_limited(provider):
    job = provider.submit(request("image", model="local-image"))
    output = job.outputs[0]
    assert provider.fetch_output(output, max_bytes=10_000_000) == output.content
    with pytest.raises(ProviderRejectedError):
        provider.fetch_output(output, max_bytes=100)
    with pytest.raises(ProviderRejectedError):
        provider.fetch_output(output.model_copy(update={"content": None, "url": "https://x.test/a.png"}), max_bytes=1)


def test_the_local_provider_never_calls_back(provider):
    with pytest.raises(CallbackSignatureError):
        provider.verify_callback({"webhook-id": "x"}, b"{}")


def test_a_finished_image_can_be_looked_up_again(provider):
    job = provider.submit(request("image", model="local-image"))
    assert provider.status(job.provider_job_id) == job
