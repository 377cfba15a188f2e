"""'Download my data' (P8) against the emulator: the archive holds every row the account owns and
every object it stored, byte for byte, with a manifest that checks out, and nothing secret."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tempfile
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from atelier import errors, tokens
from atelier.data.exports import ExportInProgressError
from atelier.integrations.storage import account_prefix
from atelier.models.privacy import ExportStatus
from atelier.services import get_services
from atelier.usecases.build_export import ENTITY_FILES, OTHER_FILE
from atelier.usecases.request_export import RequestExportDeps, read_export, request_export
from tests.integration.test_privacy_helpers import MovedClock, create_account, export_now, full_account
from tests.support.generation import KeptMessages


def archive_of(export) -> zipfile.ZipFile:
    data = get_services().export_objects.get(export.object_key, 10**9)
    assert data is not None
    return zipfile.ZipFile(io.BytesIO(data))


def records(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return json.loads(archive.read(name)) if name in archive.namelist() else []


def request(account_id, queue=None, clock=None):
    services = get_services()
    return request_export(
        RequestExportDeps(
            exports=services.exports,
            rate_limiter=services.rate_limiter,
            queue=queue or KeptMessages(),
            clock=clock or services.clock,
            settings=services.settings,
        ),
        account_id,
    )


def test_the_archive_holds_every_row_and_object_with_a_manifest_that_checks_out(stack):
    # Given an account with one of everything, and a second export of it once the first is done
    person = full_account()
    account = person.account
    services = get_services()
    partition = list(services.privacy.partition_rows(account.id))
    ledger = list(services.privacy.ledger_rows(account.ledger_id))
    export = export_now(account)
    assert export is not None
    assert export.status is ExportStatus.READY

    # When we open the archive
    archive = archive_of(export)

    # Then it is a sound zip, and the manifest names every file with its size and SHA-256
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format_version"] == 1
    assert manifest["account_id"] == account.id
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for path, entry in listed.items():
        content = archive.read(path)
        assert entry["size"] == len(content), path
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), path
    assert "README.txt" in listed

    # And every row of the partition (a Query, as the exporter reads it) is in its entity's file
    exported_keys = {
        (record["type"], record.get("key"))
        for name in archive.namelist()
        if name.endswith(".json") and name != "manifest.json"
        for record in records(archive, name)
        if isinstance(record, dict) and "type" in record
    }
    assert {row.entity for row in partition} >= {
        "account", "session", "api_key", "workspace", "job", "idempotency_key", "upload", "asset", "wallet",
        "hold", "checkout", "subscription", "sent_email", "export", "workflow", "webhook_endpoint",
        "webhook_delivery",
    }  # fmt: skip
    for row in partition:
        assert (row.entity, row.sk) in exported_keys, row
        expected_file = ENTITY_FILES.get(row.entity, OTHER_FILE)
        assert any(record.get("key") == row.sk for record in records(archive, expected_file)), row
    # An item type no code knows yet is kept, in other.json
    assert [record["title"] for record in records(archive, "other.json")] == ["Future workflow"]
    # Jobs carry their prompts, parameters, status and costs
    jobs = {record["job_id"]: record for record in records(archive, "jobs.json")}
    assert set(jobs) == set(person.job_ids)
    assert {jobs[job_id]["prompt"] for job_id in person.job_ids} == set(person.prompts)
    assert all({"params", "status", "cost_credits", "model"} <= set(record) for record in jobs.values())
    # Assets carry labels, ratings and visibility
    assets = {record["asset_id"]: record for record in records(archive, "assets.json")}
    assert assets[person.public_asset_id]["visibility"] == "public"
    assert assets[person.public_asset_id]["rating"] == 5
    assert person.private_labels in [record["labels"] for record in assets.values()]
    # Consent and terms are there on their own
    [consents] = records(archive, "consents.json")
    assert consents["terms_version"] == services.settings.policy.initial_terms_version
    assert consents["age_confirmed"] is True

    # And its ledger: every entry and payment record of the ledger partition
    ledger_keys = {
        (record["type"], record["key"])
        for name in ("ledger.json", "payments.json")
        for record in records(archive, name)
    }
    assert ledger
    assert {(row.entity, row.sk) for row in ledger} <= ledger_keys

    # And its pointers: the identity link, the session and API-key tokens, the provider job, the
    # published asset's id
    pointer_types = sorted(record["type"] for record in records(archive, "pointers.json"))
    assert pointer_types == ["api_key_token", "asset_pointer", "identity_link", "provider_job", "session_token"]

    # And every stored object, byte for byte, with a matching SHA-256 in the manifest
    prefix = account_prefix(account.id)
    stored = list(services.asset_objects.list(prefix))
    assert len(stored) >= 4  # three outputs and an upload
    for item in stored:
        path = f"assets/{item.key[len(prefix) :]}"
        content = services.asset_storage.get(item.key, 10**9)
        assert archive.read(path) == content
        assert listed[path]["sha256"] == hashlib.sha256(content or b"").hexdigest()
    assert manifest["counts"]["stored_object"] == len(stored)
    assert manifest["counts"]["job"] == 4

    # And nothing secret: no token, key or token hash, anywhere in the archive
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for secret in (
        person.session_token,
        tokens.hash_token(person.session_token),
        person.api_key,
        tokens.hash_token(person.api_key),
        person.webhook_secret,
    ):
        assert secret.encode() not in everything
    assert b"token_hash" not in everything
    assert b"whsec_" not in everything
    [endpoint] = records(archive, "webhook_endpoints.json")
    assert endpoint["url"] == "https://hooks.example.com/atelier"


def test_the_archive_passes_an_independent_zip_tool(stack):
    # Given an export of a small account
    account = create_account()
    export = export_now(account)
    data = get_services().export_objects.get(export.object_key, 10**9)
    # When unzip tests it
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "export.zip")
        with open(path, "wb") as file:
            file.write(data)
        result = subprocess.run(["unzip", "-t", path], capture_output=True, text=True, check=False)
    # Then every entry is sound
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def test_a_large_object_goes_through_a_multipart_upload_intact(stack):
    # Given an account with an object larger than one part of the archive's upload
    services = get_services()
    account = create_account()
    big = os.urandom(9 * 1024 * 1024 + 123)
    key = f"{account_prefix(account.id)}outputs/job_big/0.mp4"
    services.asset_storage.put(key, big, "video/mp4")
    # When it is exported
    export = export_now(account)
    # Then the archive is larger than a part, and the object comes back byte for byte
    assert export.size_bytes > services.settings.privacy.export_part_bytes
    archive = archive_of(export)
    assert archive.testzip() is None
    assert archive.read("assets/outputs/job_big/0.mp4") == big


def test_only_one_export_is_queued_or_running_at_a_time(stack):
    # Given an export that is queued
    account = create_account()
    first = request(account.id)
    # When another is requested
    # Then it is refused with a conflict, and asks nothing of the rate limit
    with pytest.raises(ExportInProgressError):
        request(account.id)
    # And once the first is finished, a new one may be requested
    services = get_services()
    services.exports.start(account.id, first.id, services.clock.now())
    services.exports.fail(account.id, first.id, code="x", message="y", now=services.clock.now())
    assert request(account.id).status is ExportStatus.QUEUED


def test_exports_are_limited_per_day_with_a_retry_after(stack):
    # Given three exports requested (and finished) today
    account = create_account()
    services = get_services()
    for _ in range(services.settings.privacy.export_requests_per_day):
        export = request(account.id)
        services.exports.fail(account.id, export.id, code="x", message="y", now=services.clock.now())
    # When a fourth is requested
    with pytest.raises(errors.RateLimitedError) as refused:
        request(account.id)
    # Then it is refused with how long to wait
    assert refused.value.retry_after_seconds is not None
    assert 0 < refused.value.retry_after_seconds <= 24 * 3600


class BrokenObjects:
    """The assets bucket, failing every read: the exporter cannot copy anything."""

    def __init__(self, real):
        self.real = real

    def list(self, prefix):
        return self.real.list(prefix)

    def stream(self, key, chunk_bytes=0):
        raise errors.DependencyUnavailableError()

    def read_all(self, prefix):
        for stored in self.real.list(prefix):
            yield stored, self.stream(stored.key)


def test_a_failed_export_records_why_and_a_new_one_can_be_requested(stack):
    # Given an account with a stored object the exporter cannot read, on the last delivery
    services = get_services()
    account = create_account()
    services.asset_storage.put(f"{account_prefix(account.id)}uploads/upl_x", b"data", "image/png")
    # When the export is built
    export = export_now(
        account,
        receive_count=services.settings.privacy.export_max_receives,
        asset_objects=BrokenObjects(services.asset_objects),
    )
    # Then it is failed, with why, and no archive or open upload is left behind
    assert export.status is ExportStatus.FAILED
    assert export.error_message
    assert list(services.export_objects.list(account_prefix(account.id))) == []
    uploads = services.export_objects.client.list_multipart_uploads(Bucket=services.export_objects.bucket)
    assert not [u for u in uploads.get("Uploads", []) if u["Key"].startswith(account_prefix(account.id))]
    # And a new export can be requested and succeeds
    assert export_now(account).status is ExportStatus.READY


def test_an_earlier_delivery_that_fails_is_left_for_the_queue_to_retry(stack):
    services = get_services()
    account = create_account()
    services.asset_storage.put(f"{account_prefix(account.id)}uploads/upl_y", b"data", "image/png")
    with pytest.raises(errors.DependencyUnavailableError):
        export_now(account, receive_count=1, asset_objects=BrokenObjects(services.asset_objects))
    [export] = [row for row in services.privacy.partition_rows(account.id) if row.entity == "export"]
    assert export.attributes["status"] == "running"


def test_the_link_expires_with_the_archive_after_seven_days(stack):
    # Given a ready export
    services = get_services()
    account = create_account()
    export = export_now(account)
    assert export.available_until - export.finished_at == timedelta(days=7)
    # When it is read now
    view = read_export(
        account.id, export.id, exports=services.exports, storage=services.export_objects, clock=services.clock
    )
    # Then the link is a presigned GET of the archive that expires when the archive does
    assert view.status is ExportStatus.READY
    assert view.download_url is not None
    query = parse_qs(urlsplit(view.download_url).query)
    remaining = (export.available_until - services.clock.now()).total_seconds()
    assert abs(int(query["X-Amz-Expires"][0]) - remaining) <= 5
    assert export.object_key in urlsplit(view.download_url).path
    # And a week later it is expired, with no link
    later = read_export(
        account.id,
        export.id,
        exports=services.exports,
        storage=services.export_objects,
        clock=MovedClock(timedelta(days=7, seconds=1)),
    )
    assert later.status is ExportStatus.EXPIRED
    assert later.download_url is None


def test_the_link_is_emailed_as_a_privacy_email(stack):
    services = get_services()
    account = create_account()
    export_now(account)
    kinds = [(email.kind.value, email.subject) for email in services.sent_emails.list(account.id)]
    assert ("privacy", "Your Atelier data export is ready") in kinds


def test_someone_elses_export_is_not_found(stack):
    services = get_services()
    owner, other = create_account(), create_account()
    export = export_now(owner)
    with pytest.raises(errors.NotFoundError):
        read_export(
            other.id, export.id, exports=services.exports, storage=services.export_objects, clock=services.clock
        )


def test_requests_at_the_same_moment_make_one_export(stack):
    # Given an account and five requests for its export at once
    from concurrent.futures import ThreadPoolExecutor

    account = create_account()

    def attempt(_):
        try:
            return request(account.id).id
        except (ExportInProgressError, errors.RateLimitedError):
            # Refused by the lock, or (having passed the first look at it together) by the day's
            # allowance, which each of them counted against
            return None

    with ThreadPoolExecutor(max_workers=5) as pool:
        made = [export_id for export_id in pool.map(attempt, range(5)) if export_id]
    # Then exactly one export exists
    assert len(made) == 1
    exports = [row for row in get_services().privacy.partition_rows(account.id) if row.entity == "export"]
    assert [row.attributes["export_id"] for row in exports] == made


def test_an_export_that_died_without_a_word_stops_blocking_after_a_while(stack):
    # Given an export queued long ago whose exporter never finished it
    services = get_services()
    account = create_account()
    dead = request(account.id)
    later = MovedClock(timedelta(seconds=services.settings.privacy.export_stale_seconds + 60))
    # When a new one is requested after the lock has gone stale
    fresh = request(account.id, clock=later)
    # Then it is accepted, and the dead one is marked failed, with why
    assert fresh.status is ExportStatus.QUEUED
    abandoned = services.exports.get(account.id, dead.id)
    assert abandoned.status is ExportStatus.FAILED
    assert abandoned.error_message
    assert services.exports.in_progress(account.id, later.now()) == fresh.id
