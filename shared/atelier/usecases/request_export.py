"""Requests a "download my data" export (P8), and reads one back with its download link.

One export per account is queued or running at a time (the lock is a condition of the request's own
write, so two requests at once make one export), and a few may be requested per day. The exporter
function builds the archive from the export queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.exports import ExportInProgressError, ExportRepository
from atelier.data.rate_limits import RateLimiter
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.queue import MessageQueue
from atelier.integrations.storage import ObjectStore
from atelier.models.privacy import Export, ExportStatus
from atelier.observability import record_metric
from atelier.settings import Settings
from atelier.usecases.build_export import ExportMessage, download_link

if TYPE_CHECKING:
    from atelier.services import Services

_DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ExportView:
    export: Export
    status: ExportStatus
    download_url: str | None


@dataclass(frozen=True)
class RequestExportDeps:
    """What `request_export` works with, built once per function (`Services.dependencies`)."""

    exports: ExportRepository
    rate_limiter: RateLimiter
    queue: MessageQueue
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> RequestExportDeps:
        return cls(
            exports=services.exports,
            rate_limiter=services.rate_limiter,
            queue=services.export_queue,
            clock=services.clock,
            settings=services.settings,
        )


def request_export(
    deps: RequestExportDeps,
    account_id: str,
    *,
    site_base_url: str = "",
) -> Export:
    now = deps.clock.now()
    # Refused before it is counted: waiting for a running export should not use up the day's requests.
    if deps.exports.in_progress(account_id, now) is not None:
        raise ExportInProgressError()
    deps.rate_limiter.hit(
        "export-request",
        account_id,
        limit=deps.settings.privacy.export_requests_per_day,
        window_seconds=_DAY_SECONDS,
        now=now,
    )
    export = Export(id=new_id(IdPrefix.EXPORT), account_id=account_id, status=ExportStatus.QUEUED, requested_at=now)
    try:
        deps.exports.create(export, stale_at=now + timedelta(seconds=deps.settings.privacy.export_stale_seconds))
        try:
            deps.queue.send(ExportMessage(account_id=account_id, export_id=export.id, site_base_url=site_base_url))
        except errors.DependencyUnavailableError:
            deps.exports.fail(
                account_id,
                export.id,
                code="queue_unavailable",
                message="The export could not be queued; request it again.",
                now=deps.clock.now(),
            )
            raise
    except errors.DependencyUnavailableError:
        # An outage on our side: asking again must not use up the day's allowance.
        deps.rate_limiter.give_back("export-request", account_id, window_seconds=_DAY_SECONDS, now=now)
        raise
    record_metric("ExportsRequested")
    return export


def read_export(
    account_id: str,
    export_id: str,
    *,
    exports: ExportRepository,
    storage: ObjectStore,
    clock: Clock,
) -> ExportView:
    """The owner's export (404 for anyone else's), with a download link while its archive lasts: a
    presigned GET that expires when the archive does."""
    export = exports.get(account_id, export_id) if has_prefix(export_id, IdPrefix.EXPORT) else None
    if export is None:
        raise errors.NotFoundError()
    return _view(export, storage, clock.now())


def list_exports(
    account_id: str,
    *,
    limit: int,
    cursor: str | None,
    exports: ExportRepository,
    storage: ObjectStore,
    clock: Clock,
) -> tuple[list[ExportView], str | None]:
    """The owner's exports, newest first, each with its status now and, while its archive lasts,
    its download link (as `read_export` gives it)."""
    after = cursor if cursor and has_prefix(cursor, IdPrefix.EXPORT) else None
    found, next_cursor = exports.recent(account_id, limit=limit, after=after)
    now = clock.now()
    return [_view(export, storage, now) for export in found], next_cursor


def _view(export: Export, storage: ObjectStore, now: datetime) -> ExportView:
    status = export.status_at(now)
    url = None
    if status is ExportStatus.READY and export.object_key and export.available_until:
        url = download_link(export, storage, seconds=int((export.available_until - now).total_seconds()))
    return ExportView(export=export, status=status, download_url=url)
