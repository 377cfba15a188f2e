"""HTTP shapes of privacy requests: data exports and account deletion."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from atelier.clock import isoformat
from atelier.models.privacy import DeletionState
from atelier.usecases.request_export import ExportView

ExportStatusName = Literal["queued", "running", "ready", "failed", "expired"]


class ExportResponse(BaseModel):
    id: str
    status: ExportStatusName
    requested_at: str
    download_url: str | None = Field(
        default=None, description="A link to the archive while it is ready; it expires with the archive."
    )
    expires_at: str | None = Field(default=None, description="When the archive and its link are deleted.")
    size_bytes: int | None = None
    error: str | None = Field(default=None, description="Why the export failed; request a new one.")

    @classmethod
    def of(cls, view: ExportView) -> ExportResponse:
        export = view.export
        return cls(
            id=export.id,
            status=view.status.value,
            requested_at=isoformat(export.requested_at),
            download_url=view.download_url,
            expires_at=isoformat(export.available_until) if export.available_until else None,
            size_bytes=export.size_bytes,
            error=export.error_message,
        )


class ExportPage(BaseModel):
    items: list[ExportResponse]
    next_cursor: str | None = None


class DeletionScheduledResponse(BaseModel):
    purge_at: str = Field(description="When the account and everything in it will be deleted.")

    @classmethod
    def of(cls, state: DeletionState) -> DeletionScheduledResponse:
        if state.purge_at is None:
            raise ValueError("a scheduled deletion has a purge time")
        return cls(purge_at=isoformat(state.purge_at))


class DeletionStatusResponse(BaseModel):
    scheduled: bool
    purge_at: str | None = None

    @classmethod
    def of(cls, state: DeletionState) -> DeletionStatusResponse:
        scheduled = state.scheduled and state.purge_at is not None
        return cls(scheduled=scheduled, purge_at=isoformat(state.purge_at) if scheduled and state.purge_at else None)
