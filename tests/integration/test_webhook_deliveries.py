"""Webhook delivery against the emulator, with a scripted sender and a clock the test moves: the
retry schedule and its 24-hour window, the endpoint disabled after 3 days of failures, and one
event announced twice reaching the receiver once."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from atelier.clock import isoformat
from atelier.models.email import EmailKind
from atelier.models.webhooks import DeliveryStatus, WebhookEventType
from atelier.services import get_services
from atelier.usecases.deliver_webhooks import DeliverWebhookDeps, DeliveryMessage, WebhookEvents, deliver
from atelier.usecases.manage_webhooks import create_endpoint, send_test_event
from tests.integration.test_money import NullMailer
from tests.integration.test_privacy_helpers import create_account, export_now
from tests.support.generation import KeptMessages, submit_job_deps


@dataclass
class ScriptedSender:
    """Answers `status` to every post, recording what it was sent."""

    status: int = 503
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.posts.append((url, body, dict(headers)))
        return self.status


@dataclass
class SetClock:
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at


def endpoint_for(
    account_id: str, clock: SetClock, events: tuple[WebhookEventType, ...] = (WebhookEventType.JOB_SUCCEEDED,)
) -> str:
    services = get_services()
    return create_endpoint(
        account_id,
        url="https://hooks.example.com/in",
        events=list(events),
        description="",
        enabled=True,
        include_prompt=False,
        webhooks=services.webhooks,
        clock=clock,
        settings=services.settings,
    ).id


def run(message: DeliveryMessage, queue: KeptMessages, sender: ScriptedSender, clock: SetClock, mailer=None):
    services = get_services()
    return deliver(
        DeliverWebhookDeps(
            webhooks=services.webhooks,
            queue=queue,
            sender=sender,
            accounts=services.accounts,
            mailer=mailer or NullMailer(),
            sent_emails=services.sent_emails,
            clock=clock,
            settings=services.settings,
        ),
        message,
        rng=lambda: 0.5,
    )


def drain(queue: KeptMessages, sender: ScriptedSender, clock: SetClock, mailer=None) -> list[DeliveryStatus | None]:
    """Delivers every queued message, moving the clock by each message's delay first, as SQS would."""
    outcomes = []
    while queue.sent:
        message, delay = queue.sent.pop(0)
        clock.at += timedelta(seconds=delay)
        outcomes.append(run(message, queue, sender, clock, mailer))  # type: ignore[arg-type]
    return outcomes


def test_retries_back_off_exponentially_and_stop_24_hours_after_the_first_attempt(stack):
    # Given an endpoint that always answers 503, and an event for it
    clock, queue, sender = SetClock(), KeptMessages(), ScriptedSender(status=503)
    account = create_account()
    endpoint_id = endpoint_for(account.id, clock)
    services = get_services()
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]
    started = clock.at
    delivery = send_test_event(account.id, endpoint_id, events=events)

    # When every queued hop is delivered at its time
    outcomes = drain(queue, sender, clock)

    # Then the attempts grow further apart, no hop waits more than SQS allows, and the last attempt
    # is within 24 hours of the first, after which the delivery has failed for good
    attempts_at = [datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC) for _, _, headers in sender.posts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts_at)]
    assert len(sender.posts) >= 6
    assert all(later >= earlier for earlier, later in itertools.pairwise(gaps))
    assert attempts_at[-1] - started <= timedelta(hours=24)
    assert attempts_at[-1] - started >= timedelta(hours=12)
    assert outcomes[-1] is DeliveryStatus.FAILED
    assert {headers["webhook-id"] for _, _, headers in sender.posts} == {delivery.id}
    logged = services.webhooks.get_delivery(account.id, endpoint_id, delivery.id)
    assert logged is not None
    assert (logged.status, logged.attempts, logged.last_status) == (DeliveryStatus.FAILED, len(sender.posts), 503)


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed_once(stack):
    # Given an endpoint that fails, then keeps failing for three days
    clock, queue, sender, mailer = SetClock(), KeptMessages(), ScriptedSender(status=500), NullMailer()
    account = create_account()
    endpoint_id = endpoint_for(account.id, clock)
    services = get_services()
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]
    send_test_event(account.id, endpoint_id, events=events)
    drain(queue, sender, clock, mailer)
    assert services.webhooks.get_endpoint(account.id, endpoint_id).enabled  # type: ignore[union-attr]

    # When deliveries still fail past three days after the first failure
    for _ in range(3):
        clock.at += timedelta(days=1, minutes=1)
        send_test_event(account.id, endpoint_id, events=events)
        drain(queue, sender, clock, mailer)

    # Then the endpoint is disabled, saying why, its owner emailed once, and nothing more is sent
    endpoint = services.webhooks.get_endpoint(account.id, endpoint_id)
    assert endpoint is not None
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing")
    assert [message.kind for message in mailer.sent] == [EmailKind.ACCOUNT]
    assert endpoint_id in mailer.sent[0].text
    posted = len(sender.posts)
    send_test_event(account.id, endpoint_id, events=events)
    assert drain(queue, sender, clock, mailer) == [DeliveryStatus.FAILED]
    assert len(sender.posts) == posted


def test_a_success_ends_a_run_of_failures(stack):
    # Given an endpoint that failed once, then answers
    clock, queue, sender = SetClock(), KeptMessages(), ScriptedSender(status=500)
    account = create_account()
    endpoint_id = endpoint_for(account.id, clock)
    services = get_services()
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]
    send_test_event(account.id, endpoint_id, events=events)
    message, _ = queue.sent.pop(0)
    run(message, queue, sender, clock)  # type: ignore[arg-type]
    assert services.webhooks.get_endpoint(account.id, endpoint_id).failing_since is not None  # type: ignore[union-attr]

    # When the retry succeeds
    sender.status = 204
    assert drain(queue, sender, clock) == [DeliveryStatus.DELIVERED]

    # Then the endpoint no longer counts as failing
    assert services.webhooks.get_endpoint(account.id, endpoint_id).failing_since is None  # type: ignore[union-attr]


def test_one_event_announced_twice_reaches_the_receiver_once(stack):
    # Given an endpoint subscribed to finished jobs, and a finished job
    from tests.integration.test_privacy_helpers import full_account

    clock, queue, sender = SetClock(), KeptMessages(), ScriptedSender(status=200)
    person = full_account()
    account_id = person.account.id
    endpoint_id = endpoint_for(account_id, clock)
    services = get_services()
    job = services.jobs.get(account_id, person.job_ids[0])
    assert job is not None
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]

    # When the job is announced twice (a redelivered worker message, a sweep racing a worker)
    assert events.job_finished(job) == 1
    assert events.job_finished(job) == 1
    outcomes = drain(queue, sender, clock)

    # Then one delivery exists, and the receiver was sent it once
    assert sorted(outcome is not None for outcome in outcomes) == [False, True]
    assert len(sender.posts) == 1
    deliveries, _ = services.webhooks.deliveries(account_id, endpoint_id, limit=10, after=None, now=clock.at)
    assert [(delivery.event_type, delivery.status) for delivery in deliveries] == [
        (WebhookEventType.JOB_SUCCEEDED, DeliveryStatus.DELIVERED)
    ]


def test_a_ready_export_and_a_scheduled_deletion_are_announced_with_ids_and_status_only(stack):
    # Given an endpoint subscribed to exports and deletions
    from atelier.usecases.schedule_deletion import ScheduleDeletionDeps, schedule_deletion

    clock, queue, sender = SetClock(), KeptMessages(), ScriptedSender(status=200)
    account = create_account()
    subscribed = (WebhookEventType.EXPORT_READY, WebhookEventType.DELETION_SCHEDULED)
    endpoint_for(account.id, clock, subscribed)
    services = get_services()
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]

    # When an export is built, and the account's deletion is scheduled
    export = export_now(account, events=events)
    assert export is not None
    state = schedule_deletion(
        ScheduleDeletionDeps(
            privacy=services.privacy,
            accounts=services.accounts,
            public_media=services.public_media,
            mailer=NullMailer(),
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
            events=events,
        ),
        account.id,
    )
    assert drain(queue, sender, clock) == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]

    # Then both arrive, naming the export and the purge time, never a link or the address
    bodies = [json.loads(body) for _, body, _ in sender.posts]
    assert [body["type"] for body in bodies] == ["export.ready", "deletion.scheduled"]
    assert bodies[0]["data"]["id"] == export.id
    assert bodies[0]["data"]["status"] == "ready"
    assert bodies[1]["data"]["purge_at"] == isoformat(state.purge_at)  # type: ignore[arg-type]
    everything = b"".join(body for _, body, _ in sender.posts)
    assert b"http" not in everything
    assert account.email.encode() not in everything


def test_credits_low_is_sent_once_when_a_job_takes_the_balance_below_the_threshold(stack):
    # Given 200 credits and an endpoint that wants to hear when the balance goes below 199
    from atelier.usecases.manage_webhooks import create_endpoint as create
    from atelier.usecases.submit_job import JobSubmission, submit_job
    from tests.integration.test_privacy_helpers import principal_of, ready_account

    clock, queue, sender = SetClock(), KeptMessages(), ScriptedSender(status=200)
    account = ready_account(200)
    services = get_services()
    create(
        account.id,
        url="https://hooks.example.com/in",
        events=[WebhookEventType.CREDITS_LOW],
        description="",
        enabled=True,
        include_prompt=False,
        credits_low_threshold=199,
        webhooks=services.webhooks,
        clock=clock,
        settings=services.settings,
    )
    events = WebhookEvents(services.webhooks, queue, clock)  # type: ignore[arg-type]

    def new_job() -> None:
        submit_job(
            submit_job_deps(queue=KeptMessages(), events=events),
            principal_of(account),
            JobSubmission(
                kind="image",
                model="local-image",
                prompt="a kite",
                negative_prompt=None,
                params={},
                reference_upload_ids=[],
            ),
            workspace_id=None,
            idempotency_key=None,
        )

    # When two jobs are submitted, the first taking the balance below the threshold
    new_job()
    new_job()
    drain(queue, sender, clock)

    # Then one credits.low event arrived, with the balance it went down to
    [(_, body, _)] = sender.posts
    payload = json.loads(body)
    after_first = (
        200 - services.jobs.page(account.id, limit=5, after=None, status=None, workspace_id=None)[0][0].cost_credits
    )
    assert payload["type"] == "credits.low"
    assert payload["data"] == {"object": "balance", "account_id": account.id, "status": "low", "credits": after_first}
