"""Webhook endpoints an account manages through the API: registering (the signing secret is shown
this once), changing, removing, rotating the secret, reading the delivery log, redelivering one
delivery by hand and sending a test event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from atelier import errors
from atelier.clock import Clock
from atelier.data.webhooks import DELIVERY_RETENTION, WebhookRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.queue import MessageQueue
from atelier.integrations.webhooks import new_secret, url_problem
from atelier.models.webhooks import (
    DEFAULT_CREDITS_LOW_THRESHOLD,
    DEFAULT_ENDPOINT_ID,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from atelier.settings import Settings
from atelier.usecases.deliver_webhooks import DeliveryMessage, WebhookEvents, envelope, new_test_message_id


class TooManyWebhookEndpointsError(errors.ConflictError):
    code = "too_many_webhook_endpoints"
    default_message = "The account has as many webhook endpoints as it may have."


class DeliveryPendingError(errors.ConflictError):
    code = "delivery_pending"
    default_message = "That delivery is still being attempted."


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    events: list[WebhookEventType] | None = None
    description: str | None = None
    enabled: bool | None = None
    include_prompt: bool | None = None
    credits_low_threshold: int | None = None


def _checked_url(url: str, settings: Settings) -> str:
    problem = url_problem(url, allow_local=settings.platform.local_runtime)
    if problem is not None:
        raise errors.InvalidFieldError(problem, details=[{"field": "url", "location": "body"}])
    return url


def _checked_events(events: list[WebhookEventType]) -> list[WebhookEventType]:
    unique = list(dict.fromkeys(events))
    if not unique or WebhookEventType.TEST in unique:
        raise errors.InvalidFieldError(
            "Name at least one event type to subscribe to.", details=[{"field": "events", "location": "body"}]
        )
    return unique


def create_endpoint(
    account_id: str,
    *,
    url: str,
    events: list[WebhookEventType],
    description: str,
    enabled: bool,
    include_prompt: bool,
    credits_low_threshold: int = DEFAULT_CREDITS_LOW_THRESHOLD,
    webhooks: WebhookRepository,
    clock: Clock,
    settings: Settings,
) -> WebhookEndpoint:
    """The new endpoint, with its signing secret (the only time the secret is answered)."""
    url = _checked_url(url, settings)
    events = _checked_events(events)
    if len(webhooks.endpoints(account_id)) >= settings.outbound_webhooks.max_webhook_endpoints_per_account:
        raise TooManyWebhookEndpointsError()
    now = clock.now()
    endpoint = WebhookEndpoint(
        id=new_id(IdPrefix.WEBHOOK_ENDPOINT),
        account_id=account_id,
        url=url,
        events=events,
        description=description,
        enabled=enabled,
        include_prompt=include_prompt,
        credits_low_threshold=credits_low_threshold,
        signing_secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    webhooks.create_endpoint(endpoint)
    return endpoint


def get_endpoint(
    account_id: str, endpoint_id: str, *, webhooks: WebhookRepository, allow_default: bool = False
) -> WebhookEndpoint:
    """The account's endpoint, or 404. The default endpoint (per-job receivers) is found only where
    `allow_default` says so: it can be read, rotated and its log read, not changed or removed."""
    known = has_prefix(endpoint_id, IdPrefix.WEBHOOK_ENDPOINT) or (allow_default and endpoint_id == DEFAULT_ENDPOINT_ID)
    endpoint = webhooks.get_endpoint(account_id, endpoint_id) if known else None
    if endpoint is None:
        raise errors.NotFoundError()
    return endpoint


def default_endpoint(account_id: str, *, webhooks: WebhookRepository, clock: Clock) -> WebhookEndpoint:
    """The account's default endpoint, made on first use: its secret signs deliveries to per-job
    `webhook_url`s. Unlike an endpoint's, this secret can be read again (as Replicate's can), since
    scripts that pass a `webhook_url` need it; it is rotated like any other."""
    return webhooks.default_endpoint(account_id, secret=new_secret(), now=clock.now())


def list_endpoints(account_id: str, *, webhooks: WebhookRepository) -> list[WebhookEndpoint]:
    return sorted(webhooks.endpoints(account_id), key=lambda endpoint: endpoint.id, reverse=True)


def update_endpoint(
    account_id: str,
    endpoint_id: str,
    changes: EndpointChanges,
    *,
    webhooks: WebhookRepository,
    clock: Clock,
    settings: Settings,
) -> WebhookEndpoint:
    get_endpoint(account_id, endpoint_id, webhooks=webhooks)
    fields: dict[str, object] = {"updated_at": clock.now()}
    if changes.url is not None:
        fields["url"] = _checked_url(changes.url, settings)
    if changes.events is not None:
        fields["events"] = [event.value for event in _checked_events(changes.events)]
    if changes.description is not None:
        fields["description"] = changes.description
    if changes.enabled is not None:
        fields["enabled"] = changes.enabled
    if changes.include_prompt is not None:
        fields["include_prompt"] = changes.include_prompt
    if changes.credits_low_threshold is not None:
        fields["credits_low_threshold"] = changes.credits_low_threshold
    updated = webhooks.update_endpoint(account_id, endpoint_id, fields)
    if updated is None:
        raise errors.NotFoundError()
    return get_endpoint(account_id, endpoint_id, webhooks=webhooks)


def delete_endpoint(account_id: str, endpoint_id: str, *, webhooks: WebhookRepository) -> None:
    """Removes the endpoint and its delivery log; pending deliveries to it are then dropped."""
    if not has_prefix(endpoint_id, IdPrefix.WEBHOOK_ENDPOINT) or not webhooks.delete_endpoint(account_id, endpoint_id):
        raise errors.NotFoundError()


def rotate_secret(
    account_id: str, endpoint_id: str, *, webhooks: WebhookRepository, clock: Clock, settings: Settings
) -> WebhookEndpoint:
    """A new secret (answered this once); the previous one keeps signing deliveries, next to the
    new one, for the overlap window, so receivers can switch over without losing an event."""
    endpoint = get_endpoint(account_id, endpoint_id, webhooks=webhooks, allow_default=True)
    now = clock.now()
    rotated = webhooks.rotate_secret(
        account_id,
        endpoint_id,
        secret=new_secret(),
        previous=endpoint.signing_secret,
        overlap_until=now + timedelta(seconds=settings.outbound_webhooks.webhook_secret_overlap_seconds),
        now=now,
    )
    if rotated is None:
        raise errors.ConflictError("The secret was rotated meanwhile; try again.")
    return get_endpoint(account_id, endpoint_id, webhooks=webhooks, allow_default=True)


def list_deliveries(
    account_id: str,
    endpoint_id: str,
    *,
    limit: int,
    cursor: str | None,
    webhooks: WebhookRepository,
    clock: Clock,
) -> tuple[list[WebhookDelivery], str | None]:
    get_endpoint(account_id, endpoint_id, webhooks=webhooks, allow_default=True)
    return webhooks.deliveries(account_id, endpoint_id, limit=limit, after=cursor, now=clock.now())


def redeliver(
    account_id: str,
    endpoint_id: str,
    message_id: str,
    *,
    webhooks: WebhookRepository,
    queue: MessageQueue,
    clock: Clock,
) -> WebhookDelivery:
    """Attempts a delivered or failed delivery again, with the same message id and body."""
    get_endpoint(account_id, endpoint_id, webhooks=webhooks, allow_default=True)
    delivery = (
        webhooks.get_delivery(account_id, endpoint_id, message_id)
        if has_prefix(message_id, IdPrefix.WEBHOOK_MESSAGE)
        else None
    )
    if delivery is None or delivery.created_at + DELIVERY_RETENTION <= clock.now():
        raise errors.NotFoundError()
    if delivery.status is DeliveryStatus.PENDING or not webhooks.restart(delivery, clock.now()):
        raise DeliveryPendingError()
    queue.send(
        DeliveryMessage(
            account_id=account_id, endpoint_id=endpoint_id, message_id=delivery.id, attempt=delivery.attempts
        )
    )
    restarted = webhooks.get_delivery(account_id, endpoint_id, message_id)
    if restarted is None:
        raise errors.NotFoundError()
    return restarted


def send_test_event(account_id: str, endpoint_id: str, *, events: WebhookEvents) -> WebhookDelivery:
    """Queues a `webhook.test` event to this one endpoint, whatever it subscribes to."""
    endpoint = get_endpoint(account_id, endpoint_id, webhooks=events.webhooks)
    now = events.clock.now()
    message_id = new_test_message_id(now)
    body = envelope(
        WebhookEventType.TEST,
        now,
        {"object": "webhook_endpoint", "id": endpoint.id, "account_id": account_id, "status": "test"},
    )
    return events.queue_delivery(endpoint, message_id, WebhookEventType.TEST, body)
