"""Builds a "download my data" archive (P8): one zip, streamed into the exports bucket by multipart
upload, with constant memory whatever the account's size.

What goes in:
- one JSON file per entity with every row of the account's partition (a Query, never a Scan), the
  pointers it lists (identity link, session and API-key tokens, provider jobs) and its ledger
  partition; rows of a type this module does not know land in `other.json`, never dropped;
- every object under the account's prefix in the assets bucket, byte for byte, under `assets/`;
- `manifest.json` (format version, time, account, counts per entity, and every file's path, size
  and SHA-256) and a short `README.txt`.
Token hashes and secrets are never written. Rows are spooled per file (in memory up to a small
threshold, then on local disk) so the partition is read once whatever order its rows come in; each
object is copied in 1 MiB chunks; the archive leaves in 8 MiB parts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlencode

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from atelier.clock import Clock, isoformat
from atelier.data import item_types
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.exports import ExportRepository
from atelier.data.privacy import Key, PrivacyRepository, StoredRow
from atelier.integrations.bulk_storage import BulkObjectStore
from atelier.integrations.email import Mailer
from atelier.integrations.storage import ObjectStore, account_prefix
from atelier.models.accounts import Account
from atelier.models.email import EmailKind
from atelier.models.privacy import Export, ExportStatus
from atelier.observability import logger, record_metric
from atelier.settings import Settings
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.integrations.zipstream import ZipStream
    from atelier.services import Services
    from atelier.usecases.deliver_webhooks import WebhookEvents

FORMAT_VERSION = 1

# Which file each item type goes to (the registry of item types says); anything else goes to other.json.
ENTITY_FILES = item_types.export_files()
OTHER_FILE = "other.json"
CONSENTS_FILE = "consents.json"
_CONSENT_FIELDS = ("consent", "consent_updated_at", "terms_version", "terms_accepted_at", "age_confirmed")
# Never exported: what would let someone act as the account (hashes of its bearer tokens) or
# replay a sign-in. Token pointers are keyed by the hash itself, so their keys are withheld too.
_WITHHELD_FIELDS = frozenset({"token_hash", "code_verifier", "nonce", "browser_binding_hash"})
_TOKEN_POINTERS = frozenset({"session_token", "api_key_token"})
_POINTER_BATCH = 100

README = """Atelier: your data
==================

This archive holds everything Atelier keeps about your account, as it was when it was made.

manifest.json    what is in the archive: when it was made, for which account, how many records
                 of each kind, and the size and SHA-256 checksum of every file.
account.json     your account: name, email, sign-in identity, picture, status, preferences.
consents.json    your consent choices and the terms you accepted, with when.
sessions.json    your sign-in sessions (when each started; never the session secret).
api_keys.json    your API keys (name, prefix and creation time; never the key itself).
pointers.json    look-up records that lead to your account (your sign-in identity, sessions, API
                 keys, jobs at inference providers and published assets), without any secret.
workspaces.json  your workspaces.
jobs.json        every generation job: prompt, parameters, model, status, cost and timings.
uploads.json     reference images you uploaded.
assets.json      your library: outputs and uploads, with labels, ratings and visibility.
wallet.json      your credit balance and monthly spend cap; holds.json: credits held for jobs.
ledger.json      every change of your credits; payments.json: your payments and refunds.
checkouts.json   purchases you started; subscriptions.json: your subscription, if any.
emails.json      the emails we sent you (kind, subject and time).
exports.json     your data export requests.
reports.json     the reports of content you made (which report, and when).
other.json       anything else kept under your account.
assets/          every file stored for you (uploads, outputs, profile picture), byte for byte.

Files of JSON records are lists of objects; "type" names the kind of record. Times are UTC.
"""


class ExportMessage(BaseModel):
    account_id: str
    export_id: str
    # Where the person's studio is (the origin the request came to): the emailed link opens the
    # studio's privacy page there, which shows the export and a fresh download link.
    site_base_url: str = ""


# The studio page the export-ready email links to; `export` names the export it shows.
EXPORT_PAGE = "/settings"
EXPORT_PAGE_SECTION = "your-data"


def export_page_link(site_base_url: str, export_id: str) -> str:
    return f"{site_base_url.rstrip('/')}{EXPORT_PAGE}?{urlencode({'export': export_id})}#{EXPORT_PAGE_SECTION}"


def export_key(account_id: str, export_id: str) -> str:
    """Where an archive lives in the exports bucket: under the account's prefix, so a purge finds it."""
    return f"{account_prefix(account_id)}{export_id}.zip"


def download_link(export: Export, storage: ObjectStore, *, seconds: int) -> str:
    """A presigned GET of the export's archive, valid for `seconds` (until the archive expires)."""
    assert export.object_key is not None
    filename = f"atelier-export-{export.requested_at.strftime('%Y-%m-%d')}.zip"
    return storage.presigned_get(export.object_key, max(1, seconds), filename=filename)


@dataclass(frozen=True)
class BuildExportDeps:
    """What `build_export` works with, built once per function (`Services.dependencies`)."""

    exports: ExportRepository
    privacy: PrivacyRepository
    accounts: AccountRepository
    asset_objects: BulkObjectStore
    export_objects: BulkObjectStore
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> BuildExportDeps:
        return cls(
            exports=services.exports,
            privacy=services.privacy,
            accounts=services.accounts,
            asset_objects=services.asset_objects,
            export_objects=services.export_objects,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
            events=services.webhook_events,
        )


def build_export(
    deps: BuildExportDeps,
    message: ExportMessage,
    *,
    receive_count: int,
) -> ExportStatus | None:
    """Answers the export's status after this delivery (None when it was already finished or is
    gone). A failure is retried by the queue; on the last delivery the export is marked failed,
    with why, and a new request may be made."""
    export = deps.exports.start(message.account_id, message.export_id, deps.clock.now())
    if export is None:
        return None
    account = deps.accounts.get(message.account_id)
    if account is None:
        deps.exports.fail(
            message.account_id,
            export.id,
            code="account_gone",
            message="The account no longer exists.",
            now=deps.clock.now(),
        )
        return ExportStatus.FAILED
    key = export_key(account.id, export.id)
    try:
        size = write_archive(
            account,
            export,
            key,
            privacy=deps.privacy,
            asset_objects=deps.asset_objects,
            export_objects=deps.export_objects,
            clock=deps.clock,
            settings=deps.settings,
        )
    except Exception:
        if receive_count < deps.settings.privacy.export_max_receives:
            logger.warning("export attempt failed", extra={"export_id": export.id, "attempt": receive_count})
            raise
        logger.exception("export failed", extra={"export_id": export.id})
        deps.exports.fail(
            account.id,
            export.id,
            code="export_failed",
            message="The export could not be built; request a new one.",
            now=deps.clock.now(),
        )
        if deps.events is not None:
            deps.events.export_finished(account.id, export.id, ready=False, occurred_at=deps.clock.now())
        record_metric("ExportsFailed")
        return ExportStatus.FAILED
    now = deps.clock.now()
    available_until = now + timedelta(seconds=deps.settings.privacy.export_available_seconds)
    if not deps.exports.finish(
        account.id, export.id, object_key=key, size_bytes=size, available_until=available_until, now=now
    ):
        # No longer wanted (the account was purged while this ran): nothing is left behind.
        deps.export_objects.delete([key])
        return None
    ready = export.model_copy(update={"object_key": key, "available_until": available_until})
    site = message.site_base_url or deps.settings.platform.api_base_url
    # The studio's page when the studio's address is known (it asks the person to sign in first,
    # and hands out a fresh link); the archive's own link otherwise.
    link = (
        export_page_link(site, export.id)
        if site
        else download_link(ready, deps.export_objects, seconds=deps.settings.privacy.export_available_seconds)
    )
    send_email(
        account,
        EmailKind.PRIVACY,
        "Your Atelier data export is ready",
        "The archive of your Atelier data you asked for is ready.\n\n"
        f"Download it here: {link}\n\n"
        f"The archive is deleted on {isoformat(available_until)}; until then you can also download "
        "it from the privacy section of your settings. If you did not ask for this export, sign in "
        "and end your other sessions.",
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
    )
    if deps.events is not None:
        deps.events.export_finished(
            account.id, export.id, ready=True, occurred_at=now, expires_at=available_until, size_bytes=size
        )
    logger.info("export ready", extra={"export_id": export.id, "size_bytes": size})
    record_metric("ExportsReady")
    record_metric("ExportDuration", (now - export.requested_at).total_seconds(), unit=MetricUnit.Seconds)
    return ExportStatus.READY


def write_archive(
    account: Account,
    export: Export,
    key: str,
    *,
    privacy: PrivacyRepository,
    asset_objects: BulkObjectStore,
    export_objects: BulkObjectStore,
    clock: Clock,
    settings: Settings,
) -> int:
    """Streams the archive to `key` in the exports bucket; answers its size in bytes."""
    from atelier.integrations.zipstream import ZipStream

    generated_at = clock.now()
    writer = export_objects.writer(key, "application/zip", part_bytes=settings.privacy.export_part_bytes)
    archive = ZipStream(writer, modified_at=generated_at)
    try:
        archive.add_bytes("README.txt", README.encode())
        counts = _write_records(archive, account, privacy)
        counts["stored_object"] = _write_objects(archive, account.id, asset_objects)
        manifest = {
            "format": "atelier-export",
            "format_version": FORMAT_VERSION,
            "generated_at": isoformat(generated_at),
            "account_id": account.id,
            "export_id": export.id,
            "counts": dict(sorted(counts.items())),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in archive.files],
        }
        archive.add_bytes("manifest.json", json.dumps(manifest, indent=2).encode())
        archive.close()
        return writer.close()
    except BaseException:
        archive.abandon()
        writer.abort()
        raise


# -- records ---------------------------------------------------------------------------------------
class _JsonList:
    """A JSON list written a record at a time to a spool file, then copied into the archive."""

    def __init__(self) -> None:
        from atelier.integrations.zipstream import open_spool

        self.file: IO[bytes] = open_spool()
        self.count = 0
        self.file.write(b"[")

    def append(self, record: dict[str, Any]) -> None:
        self.file.write(b"\n  " if self.count == 0 else b",\n  ")
        self.file.write(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str).encode())
        self.count += 1

    def chunks(self) -> Iterator[bytes]:
        self.file.write(b"\n]\n" if self.count else b"]\n")
        self.file.seek(0)
        try:
            while chunk := self.file.read(1024 * 1024):
                yield chunk
        finally:
            self.file.close()


def _record(row: StoredRow, *, pointer: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"type": row.entity}
    if not pointer:
        record["key"] = row.sk
    elif row.entity not in _TOKEN_POINTERS:
        record["key"] = row.pk
    for name, value in row.attributes.items():
        if name == "entity" or name in _WITHHELD_FIELDS or name.endswith("_secret"):
            continue
        record[name] = value
    return record


def _write_records(archive: ZipStream, account: Account, privacy: PrivacyRepository) -> Counter[str]:
    lists: dict[str, _JsonList] = {}
    counts: Counter[str] = Counter()
    pending_pointers: list[Key] = []

    def add(file: str, record: dict[str, Any]) -> None:
        if file not in lists:
            lists[file] = _JsonList()
        lists[file].append(record)

    def add_row(row: StoredRow, *, pointer: bool = False) -> None:
        counts[row.entity] += 1
        add(ENTITY_FILES.get(row.entity, OTHER_FILE), _record(row, pointer=pointer))

    def flush_pointers() -> None:
        for found in privacy.rows_at(pending_pointers):
            if found.attributes.get("account_id") == account.id:
                add_row(found, pointer=True)
        pending_pointers.clear()

    try:
        for row in privacy.partition_rows(account.id):
            add_row(row)
            if row.entity == "account":
                add(CONSENTS_FILE, {name: row.attributes.get(name) for name in _CONSENT_FIELDS})
            pending_pointers.extend(privacy.pointers_listed_by(row))
            if len(pending_pointers) >= _POINTER_BATCH:
                flush_pointers()
        flush_pointers()
        for row in privacy.ledger_rows(account.ledger_id):
            add_row(row)
        for file in sorted(lists):
            archive.add(file, lists.pop(file).chunks())
    finally:
        for unwritten in lists.values():
            unwritten.file.close()
    return counts


def _write_objects(archive: ZipStream, account_id: str, asset_objects: BulkObjectStore) -> int:
    prefix = account_prefix(account_id)
    copied = 0
    for stored, chunks in asset_objects.read_all(prefix):
        archive.add(f"assets/{stored.key[len(prefix) :]}", chunks, size=stored.size, compress=False)
        copied += 1
    return copied
