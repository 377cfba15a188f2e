"""Workflows, the public gallery, share links, reports and moderation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from atelier.models.generation import GenerationKind, Visibility


class TargetType(StrEnum):
    ASSET = "asset"
    WORKFLOW = "workflow"


class ReportReason(StrEnum):
    SPAM = "spam"
    SEXUAL = "sexual"
    MINOR_SAFETY = "minor_safety"
    VIOLENCE = "violence"
    HATE = "hate"
    COPYRIGHT = "copyright"
    OTHER = "other"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ModerationAction(StrEnum):
    DISMISS = "dismiss"
    REMOVE = "remove"
    QUARANTINE = "quarantine"
    SUSPEND_ACCOUNT = "suspend_account"


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: GenerationKind
    model: str
    prompt_template: str
    params: dict[str, Any] = Field(default_factory=dict)


class Workflow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    name: str
    description: str | None = None
    visibility: Visibility = Visibility.PRIVATE
    latest_version: int
    forked_from: str | None = None
    removed: bool = False
    under_review: bool = False
    # Cleared while the owner's deletion is scheduled.
    listed: bool = True
    created_at: datetime
    updated_at: datetime

    @property
    def taken_down(self) -> bool:
        return self.removed or self.under_review


class WorkflowVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    workflow_id: str
    account_id: str
    version: int
    definition: WorkflowDefinition
    note: str | None = None
    created_at: datetime


class GalleryEntry(BaseModel):
    """A public asset as the gallery shows it: never the owner's email."""

    model_config = ConfigDict(frozen=True)

    asset_id: str
    owner_id: str
    kind: str
    content_type: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    object_key: str
    published_at: datetime
    thumbnail_key: str | None = None
    poster_key: str | None = None
    public_prefix: str | None = None


class Share(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    target_type: TargetType
    target_id: str
    created_at: datetime
    expires_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    reporter_id: str
    owner_id: str
    target_type: TargetType
    target_id: str
    reason: ReportReason
    details: str | None = None
    status: ReportStatus
    created_at: datetime
    resolved_at: datetime | None = None
    action: ModerationAction | None = None
    moderator_id: str | None = None
    note: str | None = None


class ItemState(StrEnum):
    """Where a reported item stands, as a moderator sees it."""

    LIVE = "live"
    UNDER_REVIEW = "under_review"
    REMOVED = "removed"
    QUARANTINED = "quarantined"
    GONE = "gone"  # deleted by its owner, or purged with the account


class ReportedItem(BaseModel):
    """The item a report names, as the moderator deciding on it needs it."""

    model_config = ConfigDict(frozen=True)

    target_type: TargetType
    target_id: str
    owner_id: str
    state: ItemState
    visibility: Visibility | None = None
    kind: str | None = None
    content_type: str | None = None
    name: str | None = None
    # The stored object (or its preview) a moderator may look at; never for quarantined content.
    media_key: str | None = None
    preview_key: str | None = None


class AuditEntry(BaseModel):
    """One moderator action: who did what to what, when and why."""

    model_config = ConfigDict(frozen=True)

    id: str
    at: datetime
    moderator_id: str
    action: str
    report_id: str | None
    target_type: str
    target_id: str
    owner_id: str
    note: str
