"""Privacy requests: "download my data" exports (P8) and "delete my account" (P9)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from atelier.models.accounts import AccountStatus


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    # Ready once, and its archive (and link) has since expired.
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in (ExportStatus.READY, ExportStatus.FAILED, ExportStatus.EXPIRED)


class Export(BaseModel):
    """One "download my data" request and, once built, where its archive is."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    status: ExportStatus
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    object_key: str | None = None
    size_bytes: int | None = None
    # When the archive and its link expire (7 days after it was built).
    available_until: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0

    def status_at(self, now: datetime) -> ExportStatus:
        if self.status is ExportStatus.READY and self.available_until is not None and now >= self.available_until:
            return ExportStatus.EXPIRED
        return self.status


class ProviderAction(BaseModel):
    """A call still owed to a payment provider after a purge: cancel a subscription, delete a customer."""

    model_config = ConfigDict(frozen=True)

    provider: str
    action: str  # cancel_subscription | delete_customer
    object_id: str


class DeletionState(BaseModel):
    """Where an account stands on the way to deletion."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    status: AccountStatus
    ledger_id: str
    identity_issuer: str
    identity_subject: str
    requested_at: datetime | None = None
    purge_at: datetime | None = None
    # What the status was when the deletion was scheduled, restored if it is cancelled.
    previous_status: AccountStatus | None = None
    purge_started_at: datetime | None = None
    steps_done: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    pending_provider_actions: list[ProviderAction] = Field(default_factory=list)

    @property
    def scheduled(self) -> bool:
        return self.status is AccountStatus.DELETION_SCHEDULED


class DeletionReceipt(BaseModel):
    """What is kept of a purged account: when, and how much was removed. Nothing personal."""

    model_config = ConfigDict(frozen=True)

    account_hash: str
    requested_at: datetime | None
    purge_at: datetime | None
    purged_at: datetime
    counts: dict[str, int]
    pending_provider_actions: list[ProviderAction] = Field(default_factory=list)
    provider_attempts: int = 0
    # When the purge job next calls the providers about what they still owe (None: nothing owed).
    next_provider_try_at: datetime | None = None
    # Provider calls given up on, counted by provider (their object ids are not kept).
    provider_actions_abandoned: dict[str, int] = Field(default_factory=dict)
