"""Media moderation and provenance (P17, P18) through the worker, against the emulator and the local
Rekognition stand-in: the local provider draws the patterns (`flag:explicit`, `flag:suggestive`,
`flag:minor`) the stand-in and the known-bad hash list recognise."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from atelier import errors
from atelier.api.errors import status_for
from atelier.clock import SystemClock
from atelier.integrations.inference.local import LocalProvider
from atelier.integrations.media_moderation import MediaModerationUnavailableError
from atelier.integrations.provenance import DIGITAL_SOURCE_TYPE, xmp_digital_source_type
from atelier.integrations.storage import output_prefix
from atelier.models.gallery import ReportStatus, TargetType
from atelier.models.generation import JobStatus, UploadStatus, Visibility
from atelier.services import get_services
from atelier.usecases.manage_assets import UpdateAssetDeps, list_assets, update_asset
from atelier.usecases.manage_jobs import get_job
from atelier.usecases.manage_shares import CreateShareDeps, create_share
from atelier.usecases.run_generation import GenerationMessage, run_generation
from atelier.usecases.screen_media import AUTOMATIC_REVIEWER, ContentRestrictedError, quarantine_key
from atelier.usecases.submit_job import JobSubmission, submit_job
from local.provenance import ORGANISATION
from tests.integration.test_generation import ready_account, wallet
from tests.integration.test_uploads import begin, jpeg_with_gps, post_form
from tests.support.generation import KeptMessages, run_generation_deps, submit_job_deps
from tests.support.money import assert_balance_matches_ledger


class Worker:
    """Submits jobs to the local provider and delivers the queue's messages to the worker."""

    def __init__(self) -> None:
        self.queue = KeptMessages()
        self.provider = LocalProvider()

    def submit(self, principal: Any, prompt: str, *, model: str = "local-image", params=None, references=()) -> Any:
        return submit_job(
            submit_job_deps(queue=self.queue),
            principal,
            JobSubmission(
                kind="video" if model == "local-video" else "image",
                model=model,
                prompt=prompt,
                negative_prompt=None,
                params=params or {"width": 128, "height": 128},
                reference_upload_ids=list(references),
            ),
            workspace_id=None,
            idempotency_key=None,
        ).job

    def deliver(self, message: GenerationMessage, receive_count: int = 1) -> JobStatus | None:
        return run_generation(
            run_generation_deps(queue=self.queue, provider_for=lambda _: self.provider, clock=SystemClock()),
            message,
            receive_count=receive_count,
        )

    def drain(self) -> list[GenerationMessage]:
        delivered = []
        for _ in range(20):
            messages = self.queue.take()
            if not messages:
                return delivered
            for message in messages:
                delivered.append(message)
                self.deliver(message)
        return delivered


@pytest.fixture
def worker(stack) -> Worker:
    return Worker()


@pytest.fixture
def moderation_outage(stack) -> Iterator[None]:
    def set_down(down: bool) -> None:
        answer = httpx.post(f"{stack.api_url}/_local/rekognition/outage", json={"down": down}, timeout=10)
        assert answer.json() == {"down": down}

    set_down(True)
    try:
        yield
    finally:
        set_down(False)


def stored_objects(account_id: str) -> list[str]:
    storage = get_services().asset_storage
    answer = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"accounts/{account_id}/")
    return [item["Key"] for item in answer.get("Contents", [])]


def test_a_flagged_output_fails_its_job_as_output_rejected_and_releases_its_credits_once(worker):
    # Given an account with 50 credits and a job whose output the moderation service flags as explicit
    account, principal = ready_account(50)
    job = worker.submit(principal, "a portrait flag:explicit")
    [message] = worker.queue.take()
    # When the worker runs it, and the message is delivered again
    first = worker.deliver(message)
    again = worker.deliver(message, receive_count=2)
    # Then the job failed as output_rejected, saying why, and nothing was charged (the hold came back once)
    assert first is again is JobStatus.FAILED
    failed = get_job(account.id, job.id, jobs=get_services().jobs)
    assert failed.error is not None
    assert failed.error.code == "output_rejected"
    assert "Explicit" in failed.error.message
    assert failed.outputs == []
    assert (wallet(account).balance, wallet(account).held) == (50, 0)
    assert_balance_matches_ledger(account)
    # And the output was discarded, not kept anywhere in the account
    assert not [key for key in stored_objects(account.id) if key.startswith(output_prefix(account.id, job.id))]


def test_a_restricted_output_is_kept_private_and_cannot_be_published_or_shared(worker):
    # Given a job whose output the moderation service finds suggestive (restricted, not blocked)
    account, principal = ready_account(50)
    job = worker.submit(principal, "a beach flag:suggestive")
    [message] = worker.queue.take()
    assert worker.deliver(message) is JobStatus.SUCCEEDED
    services = get_services()
    [asset_id] = get_job(account.id, job.id, jobs=services.jobs).outputs
    asset = services.assets.get(account.id, asset_id)
    assert asset.restriction == "restricted:Non-Explicit Nudity of Intimate parts and Kissing"
    # When its owner tries to publish it, or to share it
    with pytest.raises(ContentRestrictedError) as published:
        update_asset(
            UpdateAssetDeps.from_services(services),
            account.id,
            asset_id,
            labels=None,
            rating=None,
            clear_rating=False,
            visibility=Visibility.PUBLIC,
        )
    with pytest.raises(ContentRestrictedError) as shared:
        create_share(CreateShareDeps.from_services(services), account.id, TargetType.ASSET, asset_id, None)
    # Then both are refused with 403 and the reason, and it stays private
    for refusal in (published.value, shared.value):
        assert status_for(refusal) == 403
        assert refusal.code == "content_restricted"
        assert refusal.details == {"reason": asset.restriction}
    assert services.assets.get(account.id, asset_id).visibility is Visibility.PRIVATE


def test_a_minor_safety_hit_is_quarantined_and_never_reachable_by_its_owner(worker):
    # Given a job whose output matches the known-bad hash list
    account, principal = ready_account(50)
    job = worker.submit(principal, "flag:minor")
    [message] = worker.queue.take()
    # When the worker runs it (twice: a redelivery must not duplicate anything)
    assert worker.deliver(message) is JobStatus.FAILED
    assert worker.deliver(message, receive_count=2) is JobStatus.FAILED
    services = get_services()
    failed = get_job(account.id, job.id, jobs=services.jobs)
    # Then the job failed, uncharged, with no asset: no library, gallery, share link or export can reach it
    assert failed.error is not None
    assert failed.error.code == "output_rejected"
    assert failed.outputs == []
    assert (wallet(account).balance, wallet(account).held) == (50, 0)
    assert list_assets(
        account.id, limit=50, cursor=None, kind=None, workspace_id=None, assets=services.assets,
        storage=services.asset_storage, settings=services.settings,
    )[0] == []  # fmt: skip
    assert stored_objects(account.id) == []
    # And the bytes are kept outside the account, with the legal-report record and an open report
    # in the moderators' queue, as the moderation console's quarantine leaves them
    from atelier.ids import IdPrefix, derived_id

    asset_id = derived_id(IdPrefix.ASSET, f"{job.id}:0", now_ms=int(job.created_at.timestamp() * 1000))
    assert services.asset_storage.get(quarantine_key(account.id, asset_id), 10_000_000) is not None
    record = services.moderation_actions.quarantine_record(asset_id)
    assert record is not None
    assert (record["owner_id"], record["reason"], record["moderator_id"]) == (
        account.id,
        "minor_safety",
        AUTOMATIC_REVIEWER,
    )
    report = services.reports.get(record["report_id"])
    assert report is not None
    assert report.status is ReportStatus.OPEN
    assert report.target_id == asset_id


@pytest.mark.usefixtures("moderation_outage")
def test_a_moderation_outage_publishes_nothing_and_the_job_waits_with_its_credits_held(worker):
    # Given the moderation service is down
    account, principal = ready_account(50)
    job = worker.submit(principal, "a quiet harbour")
    [message] = worker.queue.take()
    # When the worker runs the job
    with pytest.raises(MediaModerationUnavailableError):
        worker.deliver(message)
    # Then nothing is stored or published, the job waits for its redelivery and the credits stay held
    services = get_services()
    waiting = get_job(account.id, job.id, jobs=services.jobs)
    assert waiting.status is JobStatus.QUEUED
    assert waiting.outputs == []
    assert stored_objects(account.id) == []
    assert wallet(account).held == 2
    assert_balance_matches_ledger(account)


def test_a_job_finishes_once_moderation_is_back(worker, stack):
    # Given a job whose first delivery met a moderation outage
    account, principal = ready_account(50)
    job = worker.submit(principal, "a quiet harbour")
    [message] = worker.queue.take()
    httpx.post(f"{stack.api_url}/_local/rekognition/outage", json={"down": True}, timeout=10)
    try:
        with pytest.raises(errors.DependencyUnavailableError):
            worker.deliver(message)
    finally:
        httpx.post(f"{stack.api_url}/_local/rekognition/outage", json={"down": False}, timeout=10)
    # When the queue delivers it again
    status = worker.deliver(message, receive_count=2)
    # Then it succeeds and is charged once
    assert status is JobStatus.SUCCEEDED
    assert get_job(account.id, job.id, jobs=get_services().jobs).charged_credits == 2
    assert (wallet(account).balance, wallet(account).held) == (48, 0)


def manifest_of(content: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import c2pa

    with c2pa.Reader(content_type, io.BytesIO(content)) as reader:
        report = json.loads(reader.json())
    return report, report["manifests"][report["active_manifest"]]


@pytest.mark.parametrize(
    ("model", "params", "content_type"),
    [
        ("local-image", {"width": 160, "height": 96}, "image/png"),
        ("local-video", {"duration_s": 2, "width": 128, "height": 96}, "video/mp4"),
    ],
)
def test_every_local_output_carries_a_valid_signed_c2pa_manifest_and_the_iptc_source_type(
    worker, model, params, content_type
):
    # Given a job of the local image or video model, with words in its prompt
    account, principal = ready_account(50)
    job = worker.submit(principal, "a secret lighthouse prompt", model=model, params=params)
    # When the worker runs it to the end
    worker.drain()
    services = get_services()
    done = get_job(account.id, job.id, jobs=services.jobs)
    assert done.status is JobStatus.SUCCEEDED
    asset = services.assets.get(account.id, done.outputs[0])
    stored = services.asset_storage.get(asset.object_key, 50_000_000)
    assert stored is not None
    assert asset.content_type == content_type
    # Then c2pa's own reader finds a manifest whose signature and hashes validate (the development
    # chain is untrusted, and says so), signed by the platform's key
    report, manifest = manifest_of(stored, content_type)
    failures = [status["code"] for status in report["validation_results"]["activeManifest"]["failure"]]
    assert failures == ["signingCredential.untrusted"]
    assert "claimSignature.validated" in {s["code"] for s in report["validation_results"]["activeManifest"]["success"]}
    assert manifest["signature_info"]["issuer"] == ORGANISATION
    assert manifest["signature_info"]["alg"].lower() == "es256"
    # And it names the generator, the model and provider, the time, and the created action
    assert manifest["claim_generator_info"][0]["name"] == "Atelier"
    assert manifest["claim_generator_info"][0]["version"] == services.settings.platform.version
    [actions] = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    [created] = actions["data"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert created["parameters"] == {"model": model, "provider": "local"}
    assert created["when"].startswith(job.created_at.isoformat()[:19])
    # And no prompt and no personal data
    text = json.dumps(report)
    assert "lighthouse" not in text
    assert account.id not in text
    assert account.email not in text
    # And an image's XMP names the digital source type too; the asset records all of it
    if content_type.startswith("image/"):
        assert xmp_digital_source_type(stored) == DIGITAL_SOURCE_TYPE
    assert asset.provenance is not None
    assert (asset.provenance.c2pa, asset.provenance.digital_source_type) == ("valid", DIGITAL_SOURCE_TYPE)


@pytest.mark.parametrize(
    ("model", "params", "previews"),
    [
        ("local-image", {"width": 640, "height": 384}, {"thumbnail_key": ("c2pa.resized",)}),
        (
            "local-video",
            {"duration_s": 2, "width": 128, "height": 96},
            {"thumbnail_key": ("c2pa.converted", "c2pa.resized"), "poster_key": ("c2pa.converted",)},
        ),
    ],
)
def test_thumbnails_and_posters_carry_their_own_manifest_naming_the_original_and_the_xmp_source_type(
    worker, model, params, previews
):
    # Given a finished job of the local image or video model
    account, principal = ready_account(50)
    job = worker.submit(principal, "a secret lighthouse prompt", model=model, params=params)
    worker.drain()
    services = get_services()
    done = get_job(account.id, job.id, jobs=services.jobs)
    assert done.status is JobStatus.SUCCEEDED
    asset = services.assets.get(account.id, done.outputs[0])
    original = services.asset_storage.get(asset.object_key, 50_000_000)
    assert original is not None
    _, original_manifest = manifest_of(original, asset.content_type)
    for field, actions in previews.items():
        key = getattr(asset, field)
        assert key is not None, field
        preview = services.asset_storage.get(key, 5_000_000)
        assert preview is not None
        # When c2pa's own reader reads the preview
        report, manifest = manifest_of(preview, "image/webp")
        # Then its own manifest validates, signed by the platform's key (the development chain untrusted)
        failures = [status["code"] for status in report["validation_results"]["activeManifest"]["failure"]]
        assert failures == ["signingCredential.untrusted"], field
        assert manifest["signature_info"]["issuer"] == ORGANISATION
        assert manifest["claim_generator_info"][0]["name"] == "Atelier"
        # And its parent ingredient is the original, whose own manifest (c2pa.created,
        # trainedAlgorithmicMedia) travels inside it and still validates
        [ingredient] = manifest["ingredients"]
        assert (ingredient["relationship"], ingredient["title"]) == ("parentOf", asset.id)
        parent = report["manifests"][ingredient["active_manifest"]]
        assert parent["instance_id"] == original_manifest["instance_id"]
        [parent_actions] = [a for a in parent["assertions"] if a["label"].startswith("c2pa.actions")]
        assert [(a["action"], a["digitalSourceType"]) for a in parent_actions["data"]["actions"]] == [
            ("c2pa.created", DIGITAL_SOURCE_TYPE)
        ]
        [delta] = report["validation_results"]["ingredientDeltas"]
        assert [s["code"] for s in delta["validationDeltas"]["success"]] == ["ingredient.manifest.validated"]
        # And its actions say what was done: opened from the parent, then converted or resized,
        # naming the digital source type
        [own_actions] = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
        steps = own_actions["data"]["actions"]
        assert [step["action"] for step in steps] == ["c2pa.opened", *actions]
        assert steps[-1]["digitalSourceType"] == DIGITAL_SOURCE_TYPE
        # And the preview's XMP names the digital source type for tools that do not read C2PA
        assert xmp_digital_source_type(preview) == DIGITAL_SOURCE_TYPE
        # And still no prompt and no personal data
        text = json.dumps(report)
        assert "lighthouse" not in text
        assert account.id not in text
        assert account.email not in text


def test_a_reference_upload_is_stripped_of_gps_and_screened_before_the_provider_gets_it(worker):
    # Given a reference upload carrying EXIF and GPS
    account, principal = ready_account(50)
    original = jpeg_with_gps()
    started = begin(account.id, "image/jpeg", len(original))
    assert post_form(started, original, "image/jpeg").status_code < 300
    # When a job uses it
    job = worker.submit(principal, "like this", references=[started.upload.id])
    [message] = worker.queue.take()
    assert worker.deliver(message) is JobStatus.SUCCEEDED
    # Then it was checked, cleaned of its metadata, and the output is not marked as an upload
    services = get_services()
    assert services.uploads.get(account.id, started.upload.id).status is UploadStatus.VERIFIED
    cleaned = services.asset_storage.get(started.upload.object_key, 10_000_000)
    assert cleaned is not None
    assert b"CameraMaker" not in cleaned
    from PIL import Image

    with Image.open(io.BytesIO(cleaned)) as image:
        assert not image.getexif()
    assert xmp_digital_source_type(cleaned) is None
    assert get_job(account.id, job.id, jobs=services.jobs).status is JobStatus.SUCCEEDED


def test_a_known_bad_reference_upload_is_quarantined_and_its_job_fails_uncharged(worker):
    # Given a reference upload matching the known-bad hash list
    from atelier.integrations.inference.safety_markers import minor_pattern

    buffer = io.BytesIO()
    minor_pattern(96, 96).save(buffer, format="PNG")
    content = buffer.getvalue()
    account, principal = ready_account(50)
    started = begin(account.id, "image/png", len(content))
    assert post_form(started, content, "image/png").status_code < 300
    # When a job uses it
    job = worker.submit(principal, "like this", references=[started.upload.id])
    [message] = worker.queue.take()
    # Then the job fails before any provider call, nothing is charged, and the upload is quarantined
    assert worker.deliver(message) is JobStatus.FAILED
    services = get_services()
    failed = get_job(account.id, job.id, jobs=services.jobs)
    assert failed.error is not None
    assert failed.error.code == "upload_rejected"
    assert (wallet(account).balance, wallet(account).held) == (50, 0)
    assert services.moderation_actions.quarantine_record(started.upload.id) is not None
    assert services.uploads.get(account.id, started.upload.id).status is UploadStatus.REJECTED
    assert services.asset_storage.get(started.upload.object_key, 10_000_000) is None
    assert services.asset_storage.get(quarantine_key(account.id, started.upload.id), 10_000_000) is not None


@pytest.fixture(scope="module")
def served_providers_for_safety() -> Iterator[Any]:
    from tests.support.inference import served_providers

    with served_providers(queue_seconds=0.05, run_seconds=0.1, timeout_sleep_seconds=1.5) as providers:
        yield providers


@pytest.mark.parametrize(
    ("provider", "kind", "model"),
    [
        ("openai", "image", "gpt-image-1"),
        ("modelark", "image", "seedream-4-0"),
        ("modelark", "video", "seedance-1-0-lite"),
        ("runpod", "image", "atelier-local"),
        ("runpod", "video", "atelier-local"),
        ("replicate", "image", "black-forest-labs/flux-schnell"),
        ("replicate", "video", "bytedance/seedance-1-lite"),
    ],
)
def test_every_provider_fakes_output_is_marked_with_a_valid_manifest(
    stack, served_providers_for_safety, provider, kind, model
):
    from atelier.integrations.inference.media import probe
    from atelier.integrations.inference.registry import forget_providers, provider_for
    from atelier.usecases.screen_media import screen_output
    from tests.support.inference import RUNPOD_ENDPOINT, poll_until_final, request

    # Given an output of each provider's stand-in, fetched as the worker fetches it
    forget_providers()
    try:
        adapter = provider_for(provider, served_providers_for_safety.settings())
        model = RUNPOD_ENDPOINT if provider == "runpod" else model
        job = poll_until_final(adapter, adapter.submit(request(kind, model=model, params={"duration_s": 2})))
        content = adapter.fetch_output(job.outputs[0], max_bytes=50_000_000)
    finally:
        forget_providers()
    content_type = probe(content).content_type
    services = get_services()
    # When the worker screens and marks it
    screened = screen_output(
        content,
        content_type,
        account_id="acc_x",
        asset_id="ast_x",
        model=model,
        provider=provider,
        created_at=datetime.now(UTC),
        safety=services.output_safety,
        storage=services.asset_storage,
        clock=SystemClock(),
    )
    # Then c2pa's reader finds a manifest that validates, naming the provider and the AI source type
    report, manifest = manifest_of(screened.content, content_type)
    assert [s["code"] for s in report["validation_results"]["activeManifest"]["failure"]] == [
        "signingCredential.untrusted"
    ]
    [actions] = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    assert actions["data"]["actions"][0]["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert actions["data"]["actions"][0]["parameters"]["provider"] == provider
    assert screened.provenance.c2pa == "valid"
    # And an image's XMP says so too
    if kind == "image":
        assert xmp_digital_source_type(screened.content) == DIGITAL_SOURCE_TYPE


def test_a_moderator_confirms_an_automatic_quarantine_from_the_report_queue(worker):
    from atelier.models.gallery import ModerationAction
    from atelier.usecases.moderate import ResolveReportDeps, resolve_report

    # Given an output quarantined by the automatic checks, and its open report in the queue
    account, principal = ready_account(50)
    job = worker.submit(principal, "flag:minor")
    [message] = worker.queue.take()
    assert worker.deliver(message) is JobStatus.FAILED
    services = get_services()
    from atelier.ids import IdPrefix, derived_id

    asset_id = derived_id(IdPrefix.ASSET, f"{job.id}:0", now_ms=int(job.created_at.timestamp() * 1000))
    record = services.moderation_actions.quarantine_record(asset_id)
    assert record is not None
    # When a moderator resolves the report with the quarantine action
    resolved = resolve_report(
        ResolveReportDeps.from_services(services),
        "acc_moderator",
        record["report_id"],
        ModerationAction.QUARANTINE,
        "confirmed for the legal report",
    )
    # Then the report is closed as quarantined, and the quarantined bytes stay where they were
    assert resolved.status is ReportStatus.RESOLVED
    assert resolved.action is ModerationAction.QUARANTINE
    assert services.asset_storage.get(quarantine_key(account.id, asset_id), 10_000_000) is not None
