"""Outbound webhook endpoints and their delivery logs, all in the owning account's partition (so a
purge takes them with the rest of it). Delivery rows expire 30 days after the event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from atelier.data import keys
from atelier.data.base import epoch_seconds, is_conditional_failure, translate_errors
from atelier.data.items import WebhookDeliveryItem, WebhookEndpointItem
from atelier.models.webhooks import (
    DEFAULT_CREDITS_LOW_THRESHOLD,
    DEFAULT_ENDPOINT_ID,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

DELIVERY_RETENTION = timedelta(days=30)


def _to_endpoint(account_id: str, item: WebhookEndpointItem) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=item.endpoint_id,
        account_id=account_id,
        url=item.url,
        events=[WebhookEventType(str(event)) for event in item.events or []],
        description=item.description or "",
        enabled=bool(item.enabled),
        include_prompt=bool(item.include_prompt),
        credits_low_threshold=DEFAULT_CREDITS_LOW_THRESHOLD
        if item.credits_low_threshold is None
        else int(item.credits_low_threshold),
        signing_secret=item.signing_secret,
        previous_signing_secret=item.previous_signing_secret,
        previous_secret_expires_at=item.previous_secret_expires_at,
        created_at=item.created_at,
        updated_at=item.updated_at,
        failing_since=item.failing_since,
        disabled_reason=item.disabled_reason,
    )


def _to_delivery(account_id: str, item: WebhookDeliveryItem) -> WebhookDelivery:
    return WebhookDelivery(
        id=item.message_id,
        account_id=account_id,
        endpoint_id=item.endpoint_id,
        event_type=WebhookEventType(item.event_type),
        body=item.body,
        status=DeliveryStatus(item.status),
        attempts=int(item.attempts or 0),
        created_at=item.created_at,
        window_started_at=item.window_started_at,
        last_attempt_at=item.last_attempt_at,
        last_status=None if item.last_status is None else int(item.last_status),
        last_error=item.last_error,
        next_attempt_at=item.next_attempt_at,
        delivered_at=item.delivered_at,
        url=item.url,
    )


class WebhookRepository:
    # -- endpoints ---------------------------------------------------------------------------
    def endpoints(self, account_id: str) -> list[WebhookEndpoint]:
        with translate_errors():
            items = WebhookEndpointItem.query(
                keys.account_pk(account_id), WebhookEndpointItem.sk.startswith(keys.WEBHOOK_ENDPOINT_PREFIX)
            )
            return [_to_endpoint(account_id, item) for item in items if item.endpoint_id != DEFAULT_ENDPOINT_ID]

    def default_endpoint(self, account_id: str, *, secret: str, now: datetime) -> WebhookEndpoint:
        """The account's default endpoint, made with `secret` if it does not exist yet."""
        item = WebhookEndpointItem(
            keys.account_pk(account_id),
            keys.webhook_endpoint_sk(DEFAULT_ENDPOINT_ID),
            entity="webhook_endpoint",
            endpoint_id=DEFAULT_ENDPOINT_ID,
            url="",
            events=[],
            description="Per-job webhook_url deliveries",
            enabled=True,
            signing_secret=secret,
            created_at=now,
            updated_at=now,
        )
        with translate_errors():
            try:
                item.save(condition=WebhookEndpointItem.pk.does_not_exist())
            except PutError as exc:
                if not is_conditional_failure(exc):
                    raise
        found = self.get_endpoint(account_id, DEFAULT_ENDPOINT_ID)
        assert found is not None
        return found

    def get_endpoint(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        with translate_errors():
            try:
                item = WebhookEndpointItem.get(
                    keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id), consistent_read=True
                )
            except WebhookEndpointItem.DoesNotExist:
                return None
        return _to_endpoint(account_id, item)

    def create_endpoint(self, endpoint: WebhookEndpoint) -> None:
        item = WebhookEndpointItem(
            keys.account_pk(endpoint.account_id),
            keys.webhook_endpoint_sk(endpoint.id),
            entity="webhook_endpoint",
            endpoint_id=endpoint.id,
            url=endpoint.url,
            events=[event.value for event in endpoint.events],
            description=endpoint.description,
            enabled=endpoint.enabled,
            include_prompt=endpoint.include_prompt,
            credits_low_threshold=endpoint.credits_low_threshold,
            signing_secret=endpoint.signing_secret,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )
        with translate_errors():
            item.save(condition=WebhookEndpointItem.pk.does_not_exist())

    def update_endpoint(self, account_id: str, endpoint_id: str, changes: dict[str, Any]) -> WebhookEndpoint | None:
        """Sets the given fields (url, events, description, enabled, include_prompt, updated_at...);
        None when the endpoint does not exist. Enabling again forgets a run of failures."""
        item = WebhookEndpointItem(keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id))
        actions = [getattr(WebhookEndpointItem, name).set(value) for name, value in changes.items()]
        if changes.get("enabled") is True:
            actions += [WebhookEndpointItem.failing_since.remove(), WebhookEndpointItem.disabled_reason.remove()]
        return self._update(account_id, item, actions, WebhookEndpointItem.pk.exists())

    def rotate_secret(
        self, account_id: str, endpoint_id: str, *, secret: str, previous: str, overlap_until: datetime, now: datetime
    ) -> WebhookEndpoint | None:
        item = WebhookEndpointItem(keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id))
        actions = [
            WebhookEndpointItem.signing_secret.set(secret),
            WebhookEndpointItem.previous_signing_secret.set(previous),
            WebhookEndpointItem.previous_secret_expires_at.set(overlap_until),
            WebhookEndpointItem.updated_at.set(now),
        ]
        # Rotated from the secret the caller saw: two rotations at once cannot lose one.
        return self._update(account_id, item, actions, WebhookEndpointItem.signing_secret == previous)

    def record_success(self, account_id: str, endpoint_id: str) -> None:
        item = WebhookEndpointItem(keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id))
        self._update(
            account_id,
            item,
            [WebhookEndpointItem.failing_since.remove()],
            WebhookEndpointItem.failing_since.exists(),
        )

    def record_failure(self, account_id: str, endpoint_id: str, now: datetime) -> WebhookEndpoint | None:
        """Starts the endpoint's run of failures unless one is running; answers the endpoint after."""
        item = WebhookEndpointItem(keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id))
        return self._update(
            account_id,
            item,
            [WebhookEndpointItem.failing_since.set(WebhookEndpointItem.failing_since | now)],
            WebhookEndpointItem.pk.exists(),
        )

    def disable(self, account_id: str, endpoint_id: str, *, reason: str, now: datetime) -> bool:
        """Disables an enabled endpoint; False when it was not (so its owner is told once)."""
        item = WebhookEndpointItem(keys.account_pk(account_id), keys.webhook_endpoint_sk(endpoint_id))
        actions = [
            WebhookEndpointItem.enabled.set(False),
            WebhookEndpointItem.disabled_reason.set(reason),
            WebhookEndpointItem.updated_at.set(now),
        ]
        return self._update(account_id, item, actions, WebhookEndpointItem.enabled == True) is not None  # noqa: E712

    def delete_endpoint(self, account_id: str, endpoint_id: str) -> bool:
        pk = keys.account_pk(account_id)
        with translate_errors():
            try:
                WebhookEndpointItem.get(pk, keys.webhook_endpoint_sk(endpoint_id), consistent_read=True)
            except WebhookEndpointItem.DoesNotExist:
                return False
            with WebhookDeliveryItem.batch_write() as batch:
                for row in WebhookDeliveryItem.query(
                    pk, WebhookDeliveryItem.sk.startswith(keys.webhook_deliveries_prefix(endpoint_id))
                ):
                    batch.delete(row)
            WebhookEndpointItem(pk, keys.webhook_endpoint_sk(endpoint_id)).delete()
        return True

    def _update(
        self, account_id: str, item: WebhookEndpointItem, actions: list[Any], condition: Condition
    ) -> WebhookEndpoint | None:
        with translate_errors():
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return None
                raise
        return _to_endpoint(account_id, item)

    # -- deliveries --------------------------------------------------------------------------
    def add_delivery(self, delivery: WebhookDelivery) -> bool:
        """Writes a new delivery; False when this event was already recorded for this endpoint."""
        item = WebhookDeliveryItem(
            keys.account_pk(delivery.account_id),
            keys.webhook_delivery_sk(delivery.endpoint_id, delivery.id),
            entity="webhook_delivery",
            endpoint_id=delivery.endpoint_id,
            message_id=delivery.id,
            event_type=delivery.event_type.value,
            body=delivery.body,
            status=delivery.status.value,
            attempts=delivery.attempts,
            created_at=delivery.created_at,
            window_started_at=delivery.window_started_at,
            next_attempt_at=delivery.next_attempt_at,
            url=delivery.url,
            expires_at=epoch_seconds(delivery.created_at + DELIVERY_RETENTION),
        )
        with translate_errors():
            try:
                item.save(condition=WebhookDeliveryItem.pk.does_not_exist())
            except PutError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def get_delivery(self, account_id: str, endpoint_id: str, message_id: str) -> WebhookDelivery | None:
        with translate_errors():
            try:
                item = WebhookDeliveryItem.get(
                    keys.account_pk(account_id), keys.webhook_delivery_sk(endpoint_id, message_id), consistent_read=True
                )
            except WebhookDeliveryItem.DoesNotExist:
                return None
        return _to_delivery(account_id, item)

    def deliveries(
        self, account_id: str, endpoint_id: str, *, limit: int, after: str | None, now: datetime
    ) -> tuple[list[WebhookDelivery], str | None]:
        """Newest first; rows past their 30 days are left out even before DynamoDB removes them."""
        prefix = keys.webhook_deliveries_prefix(endpoint_id)
        condition: Condition = WebhookDeliveryItem.sk.startswith(prefix)
        if after:
            condition = WebhookDeliveryItem.sk.between(prefix, keys.webhook_delivery_sk(endpoint_id, after))
        found: list[WebhookDelivery] = []
        with translate_errors():
            results = WebhookDeliveryItem.query(
                keys.account_pk(account_id),
                condition,
                filter_condition=WebhookDeliveryItem.expires_at > epoch_seconds(now),
                scan_index_forward=False,
                page_size=max(limit * 2, 25),
            )
            for item in results:
                if item.message_id == after:
                    continue
                found.append(_to_delivery(account_id, item))
                if len(found) > limit:
                    break
        if len(found) > limit:
            return found[:limit], found[limit - 1].id
        return found, None

    def record_attempt(
        self,
        delivery: WebhookDelivery,
        *,
        status: DeliveryStatus,
        now: datetime,
        response_status: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Counts the attempt `delivery.attempts + 1`; False when another one already counted it."""
        item = WebhookDeliveryItem(
            keys.account_pk(delivery.account_id), keys.webhook_delivery_sk(delivery.endpoint_id, delivery.id)
        )
        actions: list[Any] = [
            WebhookDeliveryItem.attempts.set(delivery.attempts + 1),
            WebhookDeliveryItem.status.set(status.value),
            WebhookDeliveryItem.last_attempt_at.set(now),
            WebhookDeliveryItem.last_status.set(response_status)
            if response_status is not None
            else WebhookDeliveryItem.last_status.remove(),
            WebhookDeliveryItem.last_error.set(error) if error else WebhookDeliveryItem.last_error.remove(),
            WebhookDeliveryItem.next_attempt_at.set(next_attempt_at)
            if next_attempt_at
            else WebhookDeliveryItem.next_attempt_at.remove(),
        ]
        if status is DeliveryStatus.DELIVERED:
            actions.append(WebhookDeliveryItem.delivered_at.set(now))
        return self._update_delivery(item, actions, WebhookDeliveryItem.attempts == delivery.attempts)

    def close(self, delivery: WebhookDelivery, *, error: str) -> bool:
        """Ends a pending delivery without an attempt (its endpoint is disabled or gone)."""
        item = WebhookDeliveryItem(
            keys.account_pk(delivery.account_id), keys.webhook_delivery_sk(delivery.endpoint_id, delivery.id)
        )
        actions = [
            WebhookDeliveryItem.status.set(DeliveryStatus.FAILED.value),
            WebhookDeliveryItem.last_error.set(error),
            WebhookDeliveryItem.next_attempt_at.remove(),
        ]
        return self._update_delivery(item, actions, WebhookDeliveryItem.attempts == delivery.attempts)

    def restart(self, delivery: WebhookDelivery, now: datetime) -> bool:
        """A manual redelivery: the delivery is pending again with a fresh retry window; its
        attempts keep counting (and its message id stays the same)."""
        item = WebhookDeliveryItem(
            keys.account_pk(delivery.account_id), keys.webhook_delivery_sk(delivery.endpoint_id, delivery.id)
        )
        actions = [
            WebhookDeliveryItem.status.set(DeliveryStatus.PENDING.value),
            WebhookDeliveryItem.window_started_at.set(now),
            WebhookDeliveryItem.next_attempt_at.set(now),
        ]
        return self._update_delivery(
            item,
            actions,
            (WebhookDeliveryItem.attempts == delivery.attempts)
            & (WebhookDeliveryItem.status != DeliveryStatus.PENDING.value),
        )

    def _update_delivery(self, item: WebhookDeliveryItem, actions: list[Any], condition: Condition) -> bool:
        with translate_errors():
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True
