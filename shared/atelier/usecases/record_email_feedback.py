"""Bounces and complaints SES reports for the configuration set (through SNS): a permanent bounce
or a complaint suppresses the address, so nothing is sent to it again; a transient bounce (a full
mailbox, say) is only counted. The addresses themselves are never logged."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from atelier.clock import Clock
from atelier.data.suppressions import SuppressionRepository
from atelier.observability import logger, record_metric


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email_address: str = Field(alias="emailAddress")


class _Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bounce_type: str = Field(alias="bounceType")
    bounced_recipients: list[_Recipient] = Field(alias="bouncedRecipients")


class _Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    complained_recipients: list[_Recipient] = Field(alias="complainedRecipients")


class EmailFeedback(BaseModel):
    """An SES event publishing record (eventType) or a notification (notificationType)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    event_type: str | None = Field(default=None, alias="eventType")
    notification_type: str | None = Field(default=None, alias="notificationType")
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None

    @property
    def kind(self) -> str:
        return (self.event_type or self.notification_type or "").lower()


def record_email_feedback(
    feedback: dict[str, Any], *, suppressions: SuppressionRepository, clock: Clock
) -> list[Literal["bounce", "complaint"]]:
    """Answers the reason of each suppression recorded (none for a transient bounce or another event)."""
    event = EmailFeedback.model_validate(feedback)
    recorded: list[Literal["bounce", "complaint"]] = []
    if event.kind == "bounce" and event.bounce is not None:
        permanent = event.bounce.bounce_type == "Permanent"
        record_metric("EmailsBounced", len(event.bounce.bounced_recipients), permanent=str(permanent).lower())
        if permanent:
            for recipient in event.bounce.bounced_recipients:
                suppressions.suppress(recipient.email_address, "bounce", clock.now())
                recorded.append("bounce")
    elif event.kind == "complaint" and event.complaint is not None:
        record_metric("EmailsComplained", len(event.complaint.complained_recipients))
        for recipient in event.complaint.complained_recipients:
            suppressions.suppress(recipient.email_address, "complaint", clock.now())
            recorded.append("complaint")
    if recorded:
        logger.info("email addresses suppressed", extra={"reasons": recorded})
    return recorded
