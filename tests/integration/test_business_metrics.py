"""Each use case writes its business metrics (EMF on stdout) with the service dimension and only
low-cardinality dimensions: what the dashboard draws and the alarms watch."""

from __future__ import annotations

import json
import time

import pytest

from atelier.integrations.inference.base import CallbackSignatureError, ProviderError, ProviderStatus
from atelier.integrations.storage import account_prefix
from atelier.models.email import EmailKind
from atelier.models.privacy import ExportStatus
from atelier.observability import BUSINESS_METRICS, record_metric
from atelier.services import get_services
from atelier.usecases.handle_provider_callback import handle_provider_callback
from atelier.usecases.manage_jobs import CancelJobDeps, cancel_job
from atelier.usecases.send_email import send_email
from atelier.usecases.sweep_retention import SweepRetentionDeps, sweep_retention
from tests.integration.test_generation import Pipeline, ready_account
from tests.integration.test_money import _handle, _purchase_events
from tests.integration.test_privacy_export import BrokenObjects, request
from tests.integration.test_privacy_helpers import (
    AFTER_THE_DEADLINE,
    create_account,
    export_now,
    purger,
    schedule,
    unique,
)
from tests.support.generation import FakeProvider, KeptMessages
from tests.support.metrics import named, written_metrics

SERVICE = {"service": "atelier"}


@pytest.fixture
def pipeline(stack):
    return Pipeline(provider=FakeProvider(), queue=KeptMessages())


def test_a_job_that_succeeds_counts_its_submission_hold_provider_call_and_latency(pipeline, capsys):
    # Given an account with credits
    _account, principal = ready_account(20)
    # When a job is submitted and run to success
    job = pipeline.submit(principal).job
    pipeline.drain()
    # Then the submission and the hold are counted by provider
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "JobsSubmitted")] == [SERVICE | {"provider": job.provider}]
    assert [m.value for m in named(out, "CreditsHeld")] == [job.cost_credits]
    # And the success, the provider's call and the latency per provider and model
    assert [m.dimensions for m in named(out, "JobsSucceeded")] == [SERVICE | {"provider": job.provider}]
    assert [m.dimensions for m in named(out, "ProviderCalls")] == [SERVICE | {"provider": job.provider}]
    [latency] = named(out, "GenerationLatency")
    assert latency.dimensions == SERVICE | {"provider": job.provider, "model": job.model}
    assert latency.unit == "Milliseconds"
    assert latency.value >= 0
    assert named(out, "ProviderErrors") == []


def test_a_job_the_provider_fails_counts_a_provider_error_a_failure_by_reason_and_the_refund(pipeline, capsys):
    # Given a provider that fails every job
    pipeline.provider.outcome = ProviderStatus.FAILED
    _account, principal = ready_account(20)
    # When a job runs
    job = pipeline.submit(principal).job
    pipeline.drain()
    # Then the provider's error, the failure (by a known reason) and the credits given back are counted
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "ProviderErrors")] == [SERVICE | {"provider": job.provider}]
    [failed] = named(out, "JobsFailed")
    assert set(failed.dimensions) == {"service", "reason"}
    assert [m.value for m in named(out, "CreditsRefunded")] == [job.cost_credits]
    assert named(out, "JobsSucceeded") == []


def test_every_attempt_a_provider_outage_fails_counts_toward_its_error_rate(pipeline, capsys):
    # Given a provider that is down
    pipeline.provider.failures_before_success = 99
    _account, principal = ready_account(20)
    job = pipeline.submit(principal).job
    [message] = pipeline.queue.take()
    capsys.readouterr()
    # When the first two deliveries fail at the provider (the job is not given up yet)
    for attempt in (1, 2):
        with pytest.raises(ProviderError):
            pipeline.run(message, receive_count=attempt)
    # Then both attempts already count as provider calls that failed
    out = capsys.readouterr().out
    expected = [SERVICE | {"provider": job.provider}] * 2
    assert [m.dimensions for m in named(out, "ProviderErrors")] == expected
    assert [m.dimensions for m in named(out, "ProviderCalls")] == expected
    assert named(out, "JobsFailed") == []


def test_a_canceled_job_counts_as_canceled_with_its_credits_refunded(pipeline, capsys):
    # Given a queued job
    _account, principal = ready_account(20)
    job = pipeline.submit(principal).job
    capsys.readouterr()
    # When its owner cancels it
    services = get_services()
    cancel_job(
        CancelJobDeps(
            jobs=services.jobs,
            wallets=services.wallets,
            provider_for=lambda _name: pipeline.provider,
            clock=services.clock,
        ),
        principal.account_id,
        job.id,
    )
    # Then it is counted once as canceled, not failed
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "JobsCanceled")] == [SERVICE]
    assert named(out, "JobsFailed") == []
    assert [m.value for m in named(out, "CreditsRefunded")] == [job.cost_credits]


def test_a_purchase_counts_the_payment_by_provider_and_outcome_and_the_credits_granted(stack, capsys):
    # Given a purchase's events, the second naming the same payment
    account = create_account()
    completed, again, ignored = _purchase_events(account.id, f"cs_{unique('purchase')}")
    # When they are applied
    for event in (completed, again, ignored):
        _handle(event)
    # Then every payment event is counted by provider and outcome, and the credits once
    out = capsys.readouterr().out
    assert [m.dimensions["outcome"] for m in named(out, "Payments")] == ["granted", "already_granted", "ignored"]
    assert {m.dimensions["provider"] for m in named(out, "Payments")} == {"stripe"}
    assert len(named(out, "CreditsGranted")) == 1
    assert named(out, "CreditsGranted")[0].value > 0


def test_a_callback_with_a_bad_signature_is_counted_by_provider(stack, capsys):
    # Given a callback whose signature does not verify
    services = get_services()
    # When it arrives / Then it is refused as before
    with pytest.raises(CallbackSignatureError):
        handle_provider_callback(
            "replicate",
            {"x-signature": "forged"},
            b"job",
            provider=FakeProvider(),
            jobs=services.jobs,
            queue=KeptMessages(),  # type: ignore[arg-type]
        )
    # And the failure is counted for that provider
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "WebhookSignatureFailures")] == [SERVICE | {"provider": "replicate"}]


def test_an_export_counts_its_request_its_readiness_and_its_duration(stack, capsys):
    # Given an account
    account = create_account()
    # When an export is requested and built
    ready = export_now(account)
    # Then the request, the readiness and how long it took are counted
    assert ready.status is ExportStatus.READY
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "ExportsRequested")] == [SERVICE]
    assert [m.dimensions for m in named(out, "ExportsReady")] == [SERVICE]
    [duration] = named(out, "ExportDuration")
    assert duration.unit == "Seconds"


def test_an_export_request_is_counted(stack, capsys):
    request(create_account().id)
    assert [m.dimensions for m in named(capsys.readouterr().out, "ExportsRequested")] == [SERVICE]


def test_an_export_that_fails_on_its_last_delivery_is_counted_as_failed(stack, capsys):
    # Given an account whose stored object cannot be read, on the last delivery
    services = get_services()
    account = create_account()
    services.asset_storage.put(f"{account_prefix(account.id)}uploads/upl_x", b"data", "image/png")
    # When it is built
    export = export_now(
        account,
        receive_count=services.settings.privacy.export_max_receives,
        asset_objects=BrokenObjects(services.asset_objects),
    )
    # Then ExportsFailed (what the ExportFailedAlarm watches) is written
    assert export.status is ExportStatus.FAILED
    assert [m.dimensions for m in named(capsys.readouterr().out, "ExportsFailed")] == [SERVICE]


def test_a_purge_run_counts_what_it_purged_and_the_accounts_past_their_purge_time(stack, capsys):
    # Given an account whose deletion countdown has ended
    account = create_account()
    schedule(account)
    # When the purge runs
    outcome = purger(clock=AFTER_THE_DEADLINE).run_due()
    # Then the run's counts and the overdue gauge are written once each
    out = capsys.readouterr().out
    assert [m.value for m in named(out, "AccountsPurged")] == [outcome["purged"]]
    assert outcome["purged"] >= 1
    assert [m.value for m in named(out, "PurgesFailed")] == [outcome["failed"]]
    assert [m.value for m in named(out, "PurgesUnfinished")] == [outcome["unfinished"]]
    assert len(named(out, "AccountsPastPurgeTime")) == 1


def test_the_retention_sweep_counts_the_items_it_deleted(stack, capsys):
    services = get_services()
    deleted = sweep_retention(SweepRetentionDeps.from_services(services))
    assert [m.value for m in named(capsys.readouterr().out, "RetentionItemsDeleted")] == [sum(deleted.values())]


def test_a_sent_email_is_counted_by_kind(stack, capsys):
    services = get_services()
    account = create_account()
    assert send_email(
        account,
        EmailKind.PRIVACY,
        "Subject",
        "Text",
        mailer=services.mailer,
        sent_emails=services.sent_emails,
        clock=services.clock,
    )
    assert [m.dimensions for m in named(capsys.readouterr().out, "EmailsSent")] == [SERVICE | {"kind": "privacy"}]


def test_only_declared_business_metrics_can_be_written(capsys):
    with pytest.raises(ValueError, match="not a business metric"):
        record_metric("UserEmailAddress")
    record_metric("ReportsOpened", reason="spam")
    [written] = written_metrics(capsys.readouterr().out)
    assert written.name in BUSINESS_METRICS
    assert written.dimensions == SERVICE | {"reason": "spam"}


def test_a_payment_webhook_with_a_bad_signature_is_refused_and_counted_by_provider(stack, capsys):
    # Given a Stripe webhook whose signature was made with another secret
    from functions.webhooks import handler
    from tests.support.events import FakeLambdaContext, api_event

    event = api_event(
        "POST",
        "/v1/webhooks/stripe",
        body='{"id": "evt_forged", "type": "checkout.session.completed"}',
        headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    # When it arrives
    answer = handler.lambda_handler(event, FakeLambdaContext())
    # Then it is refused as before, and counted for Stripe (what the signature alarm watches)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "invalid_signature"
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "WebhookSignatureFailures")] == [SERVICE | {"provider": "stripe"}]


def test_a_resolved_report_is_counted_by_action(stack, capsys):
    from atelier.ids import IdPrefix, new_id
    from atelier.models.gallery import ModerationAction, Report, ReportReason, ReportStatus, TargetType
    from atelier.usecases.manage_workflows import create_workflow
    from atelier.usecases.moderate import ResolveReportDeps, resolve_report
    from tests.support.personas import WORKFLOW_DEFINITION

    # Given an open report about someone's workflow
    services = get_services()
    reporter, owner = create_account(), create_account()
    workflow = create_workflow(
        owner.id,
        "Dusk",
        None,
        WORKFLOW_DEFINITION,
        workflows=services.workflows,
        clock=services.clock,
        settings=services.settings,
    ).workflow
    report = Report(
        id=new_id(IdPrefix.REPORT),
        reporter_id=reporter.id,
        owner_id=owner.id,
        target_type=TargetType.WORKFLOW,
        target_id=workflow.id,
        reason=ReportReason.SPAM,
        status=ReportStatus.OPEN,
        created_at=services.clock.now(),
    )
    services.reports.create(report)
    capsys.readouterr()
    # When a moderator dismisses it
    resolve_report(
        ResolveReportDeps.from_services(services), "moderator", report.id, ModerationAction.DISMISS, "not spam"
    )
    # Then the resolution is counted by its action
    out = capsys.readouterr().out
    assert [m.dimensions for m in named(out, "ReportsResolved")] == [SERVICE | {"action": "dismiss"}]


def test_an_account_left_unpurged_an_hour_past_its_purge_time_is_counted_as_overdue(stack, capsys):
    # Given an account due for purge long ago, and a purge run with no time left to work
    services = get_services()
    account = create_account()
    schedule(account)
    no_time = services.settings.replace(purge_time_budget_seconds=0)
    run = purger(clock=AFTER_THE_DEADLINE)
    run.settings = no_time
    # When the run ends
    outcome = run.run_due()
    # Then the account is still due, and the gauge the PurgeOverdueAlarm watches counts it
    assert outcome["purged"] == 0
    assert services.privacy.deletion_state(account.id) is not None
    [overdue] = named(capsys.readouterr().out, "AccountsPastPurgeTime")
    assert overdue.value >= 1


def test_a_refund_counts_the_credits_clawed_back_once(stack, capsys):
    from datetime import UTC, datetime

    from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
    from atelier.models.billing import Money

    # Given a purchase of credits
    account = create_account()
    session = f"cs_{unique('metrics')}"
    for event in _purchase_events(account.id, session):
        _handle(event)
    granted = named(capsys.readouterr().out, "CreditsGranted")[0].value
    refund = PaymentEvent(
        provider="stripe",
        event_id=f"evt_{session}_refund",
        event_type="charge.refunded",
        kind=PaymentEventKind.REFUND,
        occurred_at=datetime.now(UTC),
        reversal_key=f"re_{session}",
        reversed_payment=f"pi_{session}",
        amount=Money(value_minor=999, currency="usd"),
    )
    # When it is refunded in full, and the refund is reported twice
    _handle(refund)
    _handle(refund.model_copy(update={"event_id": f"evt_{session}_refund_again"}))
    # Then the credits taken back are counted once, and both events by outcome
    out = capsys.readouterr().out
    assert [m.value for m in named(out, "CreditsClawedBack")] == [granted]
    assert [m.dimensions["outcome"] for m in named(out, "Payments")] == ["clawed_back", "already_reversed"]
