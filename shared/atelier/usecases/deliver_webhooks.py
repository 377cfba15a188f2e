"""Outbound webhooks: announcing an event to the account's endpoints, and delivering it.

Announcing writes one delivery row per subscribed endpoint, holding the exact body every attempt
will send, and queues its first attempt. The message id (the `webhook-id` header) derives from
the event itself, so announcing one event twice (a redelivered worker message, a sweep racing a
worker) writes nothing new: a receiver sees one event, however often the platform repeats itself.

Each attempt is one queue message naming the attempt it is (`attempt` = the attempts already
made); a message whose attempt was already made, or whose delivery is no longer pending, is
dropped. A failed attempt queues the next one with exponential backoff and jitter; SQS delays a
message at most 15 minutes, so a longer wait is made of several hops, each carrying the time the
attempt is due. Retries stop 24 hours after the first attempt. An endpoint that has failed for 3
days without one success is disabled and its owner emailed.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from atelier.clock import Clock, isoformat
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.webhooks import WebhookRepository
from atelier.ids import IdPrefix, derived_id, new_id
from atelier.integrations.email import Mailer
from atelier.integrations.queue import MAX_DELAY_SECONDS, MessageQueue
from atelier.integrations.webhooks import (
    WebhookAddressRefusedError,
    WebhookSender,
    WebhookUnreachableError,
    new_secret,
    signature_header,
)
from atelier.models.email import EmailKind
from atelier.models.generation import Job, JobStatus
from atelier.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType
from atelier.observability import logger, metrics
from atelier.settings import Settings

if TYPE_CHECKING:
    from atelier.services import Services

USER_AGENT = "Atelier-Webhooks/1"
# A hop that arrives this close to its due time makes the attempt rather than waiting again.
_DUE_SLACK = timedelta(seconds=1)
_JOB_EVENTS = {
    JobStatus.SUCCEEDED: WebhookEventType.JOB_SUCCEEDED,
    JobStatus.FAILED: WebhookEventType.JOB_FAILED,
    JobStatus.CANCELED: WebhookEventType.JOB_CANCELED,
}


class DeliveryMessage(BaseModel):
    account_id: str
    endpoint_id: str
    message_id: str
    attempt: int


def envelope(event_type: WebhookEventType, occurred_at: datetime, data: dict[str, Any]) -> str:
    """The body every attempt sends: the Standard Webhooks payload shape."""
    return json.dumps(
        {"type": event_type.value, "timestamp": isoformat(occurred_at), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


class WebhookEvents:
    """What a use case needs to announce an event: the endpoints, the delivery queue, the clock."""

    def __init__(self, webhooks: WebhookRepository, queue: MessageQueue, clock: Clock) -> None:
        self.webhooks = webhooks
        self.queue = queue
        self.clock = clock

    def publish(
        self,
        account_id: str,
        event_type: WebhookEventType,
        data: dict[str, Any],
        *,
        key: str,
        occurred_at: datetime,
        prompt: str | None = None,
        wanted_by: Callable[[WebhookEndpoint], bool] | None = None,
    ) -> int:
        """Queues the event for every enabled endpoint of the account that subscribes to it, and
        answers how many. `key` names the event (the same key, the same message id); `prompt`
        goes only to endpoints that opted in to prompts. Never raises: the fact the event reports
        on has already happened, and a failure here is logged and counted (`WebhookEventsLost`)."""
        try:
            targets = [
                endpoint
                for endpoint in self.webhooks.endpoints(account_id)
                if endpoint.enabled and event_type in endpoint.events and (wanted_by is None or wanted_by(endpoint))
            ]
            message_id = derived_id(
                IdPrefix.WEBHOOK_MESSAGE, f"{event_type.value}:{key}", now_ms=int(occurred_at.timestamp() * 1000)
            )
            for endpoint in targets:
                payload = dict(data)
                if prompt is not None and endpoint.include_prompt:
                    payload["prompt"] = prompt
                self.queue_delivery(endpoint, message_id, event_type, envelope(event_type, occurred_at, payload))
        except Exception as exc:
            logger.warning("webhook event not queued", extra={"event_type": event_type.value, "reason": repr(exc)})
            metrics.add_metric(name="WebhookEventsLost", unit=MetricUnit.Count, value=1)
            return 0
        return len(targets)

    def queue_delivery(
        self,
        endpoint: WebhookEndpoint,
        message_id: str,
        event_type: WebhookEventType,
        body: str,
        *,
        url: str | None = None,
    ) -> WebhookDelivery:
        now = self.clock.now()
        delivery = WebhookDelivery(
            id=message_id,
            account_id=endpoint.account_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            body=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            created_at=now,
            window_started_at=now,
            next_attempt_at=now,
            url=url,
        )
        if not self.webhooks.add_delivery(delivery):
            existing = self.webhooks.get_delivery(endpoint.account_id, endpoint.id, message_id)
            if existing is None or existing.attempts or existing.status is not DeliveryStatus.PENDING:
                return existing or delivery
            # Recorded before, never attempted: perhaps its message was never sent. Another one
            # at worst repeats the first attempt, with the same message id.
            delivery = existing
        self.queue.send(_message(delivery))
        return delivery

    def job_finished(self, job: Job) -> int:
        """Announces a finished job: ids, status and error, never the prompt unless opted in."""
        event_type = _JOB_EVENTS.get(job.status)
        if event_type is None:
            return 0
        occurred_at = job.finished_at or self.clock.now()
        data: dict[str, Any] = {
            "object": "job",
            "id": job.id,
            "account_id": job.account_id,
            "workspace_id": job.workspace_id,
            "kind": job.kind,
            "model": job.model,
            "status": job.status.value,
            "outputs": list(job.outputs),
            "error": job.error.model_dump() if job.error else None,
            "cost_credits": job.cost_credits,
            "charged_credits": job.charged_credits,
            "finished_at": isoformat(occurred_at),
        }
        announced = self.publish(
            job.account_id, event_type, data, key=job.id, occurred_at=occurred_at, prompt=job.prompt
        )
        if job.webhook_url:
            announced += self._to_job_receiver(job, event_type, data, occurred_at)
        return announced

    def _to_job_receiver(
        self, job: Job, event_type: WebhookEventType, data: dict[str, Any], occurred_at: datetime
    ) -> int:
        """The job's own `webhook_url`, signed with the account's default secret (never the prompt)."""
        try:
            endpoint = self.webhooks.default_endpoint(job.account_id, secret=new_secret(), now=self.clock.now())
            message_id = derived_id(
                IdPrefix.WEBHOOK_MESSAGE, f"{event_type.value}:{job.id}", now_ms=int(occurred_at.timestamp() * 1000)
            )
            self.queue_delivery(
                endpoint, message_id, event_type, envelope(event_type, occurred_at, data), url=job.webhook_url
            )
        except Exception as exc:
            logger.warning("webhook event not queued", extra={"event_type": event_type.value, "reason": repr(exc)})
            metrics.add_metric(name="WebhookEventsLost", unit=MetricUnit.Count, value=1)
            return 0
        return 1

    def export_finished(
        self,
        account_id: str,
        export_id: str,
        *,
        ready: bool,
        occurred_at: datetime,
        expires_at: datetime | None = None,
        size_bytes: int | None = None,
    ) -> int:
        """Announces an export that is ready (never its link: the owner fetches it signed in) or failed."""
        data: dict[str, Any] = {
            "object": "export",
            "id": export_id,
            "account_id": account_id,
            "status": "ready" if ready else "failed",
            "expires_at": isoformat(expires_at) if expires_at else None,
            "size_bytes": size_bytes,
        }
        event_type = WebhookEventType.EXPORT_READY if ready else WebhookEventType.EXPORT_FAILED
        return self.publish(account_id, event_type, data, key=export_id, occurred_at=occurred_at)

    def credits_held(
        self, account_id: str, *, held: int, balance: Callable[[], int], key: str, occurred_at: datetime
    ) -> int:
        """After `held` credits were reserved (a new job, `key`): `credits.low` to each endpoint whose
        threshold the balance has just gone below. The balance is read only when some endpoint
        subscribes to the event."""
        try:
            subscribed = any(
                endpoint.enabled and WebhookEventType.CREDITS_LOW in endpoint.events
                for endpoint in self.webhooks.endpoints(account_id)
            )
            after = balance() if subscribed else 0
        except Exception as exc:
            logger.warning("credits.low not checked", extra={"reason": repr(exc)})
            return 0
        if not subscribed:
            return 0
        before = after + held
        data = {"object": "balance", "account_id": account_id, "status": "low", "credits": after}
        return self.publish(
            account_id,
            WebhookEventType.CREDITS_LOW,
            data,
            key=key,
            occurred_at=occurred_at,
            wanted_by=lambda endpoint: after < endpoint.credits_low_threshold <= before,
        )

    def deletion_scheduled(self, account_id: str, *, requested_at: datetime, purge_at: datetime) -> int:
        data = {
            "object": "account",
            "id": account_id,
            "account_id": account_id,
            "status": "deletion_scheduled",
            "purge_at": isoformat(purge_at),
        }
        return self.publish(
            account_id,
            WebhookEventType.DELETION_SCHEDULED,
            data,
            key=f"{account_id}:{isoformat(requested_at)}",
            occurred_at=requested_at,
        )


def _message(delivery: WebhookDelivery) -> DeliveryMessage:
    return DeliveryMessage(
        account_id=delivery.account_id,
        endpoint_id=delivery.endpoint_id,
        message_id=delivery.id,
        attempt=delivery.attempts,
    )


def retry_delay(attempt: int, settings: Settings, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2...): exponential, capped, and
    spread by up to a fifth either way so endpoints that failed together do not retry together."""
    exponential = min(
        settings.outbound_webhooks.webhook_retry_base_seconds * 4 ** (attempt - 1),
        settings.outbound_webhooks.webhook_retry_max_delay_seconds,
    )
    return float(exponential * (0.8 + 0.4 * rng()))


@dataclass(frozen=True)
class DeliverWebhookDeps:
    """What `deliver` works with, built once per function (`Services.dependencies`)."""

    webhooks: WebhookRepository
    queue: MessageQueue
    sender: WebhookSender
    accounts: AccountRepository
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> DeliverWebhookDeps:
        return cls(
            webhooks=services.webhooks,
            queue=services.webhook_queue,
            sender=services.webhook_sender,
            accounts=services.accounts,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def deliver(
    deps: DeliverWebhookDeps,
    message: DeliveryMessage,
    *,
    rng: Callable[[], float] = random.random,
) -> DeliveryStatus | None:
    """Makes the attempt the message names, if it is still due; answers the delivery's status
    after it (None for a message that was stale)."""
    delivery = deps.webhooks.get_delivery(message.account_id, message.endpoint_id, message.message_id)
    if delivery is None or delivery.status is not DeliveryStatus.PENDING or delivery.attempts != message.attempt:
        return None
    now = deps.clock.now()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at - now > _DUE_SLACK:
        wait = (delivery.next_attempt_at - now).total_seconds()
        deps.queue.send(message, delay_seconds=min(math.ceil(wait), MAX_DELAY_SECONDS))
        return DeliveryStatus.PENDING
    endpoint = deps.webhooks.get_endpoint(message.account_id, message.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        deps.webhooks.close(delivery, error="The endpoint is disabled.")
        return DeliveryStatus.FAILED
    status, error = _attempt(endpoint, delivery, deps.sender, now)
    if delivery.url is not None:
        # A per-job receiver: its failures are its own, never held against the default endpoint.
        return _retry_or_fail(
            delivery,
            status,
            error,
            webhooks=deps.webhooks,
            queue=deps.queue,
            message=message,
            now=now,
            settings=deps.settings,
            rng=rng,
        )
    if status is not None and 200 <= status < 300:
        deps.webhooks.record_attempt(
            delivery, status=DeliveryStatus.DELIVERED, now=now, response_status=status, error=None, next_attempt_at=None
        )
        if endpoint.failing_since is not None:
            deps.webhooks.record_success(endpoint.account_id, endpoint.id)
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
        return DeliveryStatus.DELIVERED
    metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
    if _failing_too_long(
        endpoint,
        webhooks=deps.webhooks,
        accounts=deps.accounts,
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
        now=now,
        settings=deps.settings,
    ):
        deps.webhooks.record_attempt(
            delivery, status=DeliveryStatus.FAILED, now=now, response_status=status, error=error, next_attempt_at=None
        )
        return DeliveryStatus.FAILED
    return _retry_or_fail(
        delivery,
        status,
        error,
        webhooks=deps.webhooks,
        queue=deps.queue,
        message=message,
        now=now,
        settings=deps.settings,
        rng=rng,
    )


def _retry_or_fail(
    delivery: WebhookDelivery,
    status: int | None,
    error: str | None,
    *,
    webhooks: WebhookRepository,
    queue: MessageQueue,
    message: DeliveryMessage,
    now: datetime,
    settings: Settings,
    rng: Callable[[], float],
) -> DeliveryStatus:
    if status is not None and 200 <= status < 300:
        webhooks.record_attempt(
            delivery, status=DeliveryStatus.DELIVERED, now=now, response_status=status, error=None, next_attempt_at=None
        )
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
        return DeliveryStatus.DELIVERED
    wait = retry_delay(delivery.attempts + 1, settings, rng)
    next_at = now + timedelta(seconds=wait)
    if next_at - delivery.window_started_at > timedelta(
        seconds=settings.outbound_webhooks.webhook_retry_window_seconds
    ):
        webhooks.record_attempt(
            delivery, status=DeliveryStatus.FAILED, now=now, response_status=status, error=error, next_attempt_at=None
        )
        return DeliveryStatus.FAILED
    # The next attempt's message goes out before this attempt is counted: should counting fail,
    # this message comes back and tries again (the receiver sees the same message id), whereas the
    # other order could lose the event.
    queue.send(
        DeliveryMessage(**{**message.model_dump(), "attempt": delivery.attempts + 1}),
        delay_seconds=min(math.ceil(wait), MAX_DELAY_SECONDS),
    )
    webhooks.record_attempt(
        delivery, status=DeliveryStatus.PENDING, now=now, response_status=status, error=error, next_attempt_at=next_at
    )
    return DeliveryStatus.PENDING


def _attempt(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, sender: WebhookSender, now: datetime
) -> tuple[int | None, str | None]:
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(endpoint.secrets_at(now), delivery.id, timestamp, body),
    }
    try:
        status = sender.post(delivery.url or endpoint.url, body, headers)
    except (WebhookAddressRefusedError, WebhookUnreachableError) as exc:
        return None, exc.message
    if 300 <= status < 400:
        return status, "The endpoint answered with a redirect, which is not followed."
    if not 200 <= status < 300:
        return status, f"The endpoint answered {status}."
    return status, None


def _failing_too_long(
    endpoint: WebhookEndpoint,
    *,
    webhooks: WebhookRepository,
    accounts: AccountRepository,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
    now: datetime,
    settings: Settings,
) -> bool:
    """Counts the failure against the endpoint; once it has failed for too long it is disabled
    (and its owner emailed, once) and True is answered."""
    after = webhooks.record_failure(endpoint.account_id, endpoint.id, now)
    failing_since = after.failing_since if after is not None else None
    if failing_since is None or now - failing_since < timedelta(
        seconds=settings.outbound_webhooks.webhook_disable_after_seconds
    ):
        return False
    if webhooks.disable(endpoint.account_id, endpoint.id, reason="failing", now=now):
        from atelier.usecases.send_email import send_email

        account = accounts.get(endpoint.account_id)
        if account is not None:
            send_email(
                account,
                EmailKind.ACCOUNT,
                "A webhook endpoint was disabled",
                f"Deliveries to your webhook endpoint {endpoint.id} ({endpoint.url}) have failed since "
                f"{isoformat(failing_since)}, so it was disabled. Enable it again from the API once it answers.",
                mailer=mailer,
                sent_emails=sent_emails,
                clock=clock,
            )
    return True


def new_test_message_id(now: datetime) -> str:
    return new_id(IdPrefix.WEBHOOK_MESSAGE, now_ms=int(now.timestamp() * 1000))
