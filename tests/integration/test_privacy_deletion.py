"""'Delete my account' (P9, P10) against the emulator: the countdown, its cancellation, and the purge,
proven by sweeping every table and bucket for anything that still names the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.data.privacy import DeletionAlreadyScheduledError, DeletionNotScheduledError, PurgeStartedError
from atelier.integrations.storage import account_prefix
from atelier.models.accounts import AccountStatus
from atelier.models.generation import JobStatus, Visibility
from atelier.services import get_services
from atelier.usecases.manage_assets import list_assets
from atelier.usecases.purge_account import PURGE_STEPS, account_hash
from atelier.usecases.schedule_deletion import CancelDeletionDeps, cancel_deletion, public_only
from atelier.usecases.start_checkout import StartCheckoutDeps, start_checkout
from tests.integration.test_privacy_helpers import (
    AFTER_THE_DEADLINE,
    FullAccount,
    MovedClock,
    RecordingPaymentProvider,
    create_account,
    full_account,
    principal_of,
    purger,
    ready_account,
    schedule,
    submit,
    sweep_everything,
)
from tests.support.generation import FakeProvider, KeptMessages
from tests.support.personas import buy_pack, lose_dispute, restrict_by_chargeback


def cancel(account):
    services = get_services()
    return cancel_deletion(CancelDeletionDeps.from_services(services), account.id)


def partition_snapshot(account_id: str) -> dict[str, dict]:
    """The account's partition as stored, by sort key, without the emails sent meanwhile."""
    return {
        row.sk: row.attributes
        for row in get_services().privacy.partition_rows(account_id)
        if row.entity != "sent_email"
    }


def index_keys(account_id: str) -> dict[str, str | None]:
    from atelier.data import keys
    from atelier.data.base import main_table_connection

    raw = main_table_connection().get_item(keys.account_pk(account_id), keys.ACCOUNT_SK, consistent_read=True)
    item = raw["Item"]
    return {name: item.get(name, {}).get("S") for name in ("GSI2PK", "GSI2SK")}


# -- the countdown -------------------------------------------------------------------------------------
def test_scheduling_starts_a_72_hour_countdown_with_an_email(stack):
    # Given an active account
    account = create_account()
    before = datetime.now(UTC)
    # When its deletion is scheduled
    state = schedule(account)
    # Then it is deletion_scheduled, due 72 hours on, listed as due (GSI2), and emailed
    services = get_services()
    assert services.accounts.require(account.id).status is AccountStatus.DELETION_SCHEDULED
    assert timedelta(hours=72) <= state.purge_at - before < timedelta(hours=72, minutes=1)
    assert index_keys(account.id)["GSI2PK"] == "PURGE_DUE"
    assert account.id not in services.privacy.due_for_purge(datetime.now(UTC), limit=1000)
    assert account.id in services.privacy.due_for_purge(AFTER_THE_DEADLINE.now(), limit=1000)
    assert any(e.kind.value == "privacy" and "scheduled" in e.subject for e in services.sent_emails.list(account.id))
    # And scheduling again is a conflict
    with pytest.raises(DeletionAlreadyScheduledError):
        schedule(account)


@pytest.mark.parametrize("status", [AccountStatus.ACTIVE, AccountStatus.RESTRICTED])
def test_cancelling_restores_exactly_what_was_there(stack, status):
    # Given an account with one of everything, restricted or not
    person = full_account()
    account = person.account
    if status is AccountStatus.RESTRICTED:
        from atelier.data import keys
        from atelier.data.items import AccountItem

        AccountItem(keys.account_pk(account.id), keys.ACCOUNT_SK).update(actions=[AccountItem.status.set("restricted")])
    before = partition_snapshot(account.id)
    # When its deletion is scheduled, then cancelled during the countdown
    schedule(account)
    assert get_services().accounts.require(account.id).status is AccountStatus.DELETION_SCHEDULED
    state = cancel(account)
    # Then the partition is exactly as it was (apart from the two emails saying so), status included
    assert state.status is status
    assert partition_snapshot(account.id) == before
    assert index_keys(account.id) == {"GSI2PK": None, "GSI2SK": None}
    subjects = [email.subject for email in get_services().sent_emails.list(account.id)]
    assert "Your Atelier account will not be deleted" in subjects
    # And nothing is purged later
    assert purger(clock=AFTER_THE_DEADLINE).purge(account.id) is False
    assert get_services().accounts.get(account.id) is not None


def test_a_chargeback_during_the_countdown_restricts_the_account_once_cancelled(stack):
    # Given an account that bought a pack and spent it, counting down to deletion
    account = create_account()
    purchase = buy_pack(account)
    schedule(account)
    # When it loses a dispute over the pack during the countdown (the balance goes below zero)
    lose_dispute(account, purchase)
    assert get_services().accounts.require(account.id).status is AccountStatus.DELETION_SCHEDULED
    # And cancels the deletion
    state = cancel(account)
    # Then the account is restricted, as any account owing credits is, and cannot generate
    services = get_services()
    assert state.status is AccountStatus.RESTRICTED
    assert services.accounts.require(account.id).status is AccountStatus.RESTRICTED
    with pytest.raises(errors.AccountRestrictedError):
        services.wallets.hold(account.id, account.ledger_id, "job_owing", 1, datetime.now(UTC), generation_kind="image")
    # And paying what it owes lifts the restriction
    buy_pack(account)
    assert services.wallets.get(account.id).balance == 0
    assert services.accounts.require(account.id).status is AccountStatus.ACTIVE
    assert services.wallets.get(account.id).restricted is False


def test_a_debt_paid_during_the_countdown_leaves_the_account_active_once_cancelled(stack):
    # Given an account restricted by a chargeback, then counting down to deletion
    account = create_account()
    restrict_by_chargeback(account, buy_pack(account))
    schedule(account)
    # When it pays what it owes and buys more during the countdown, then cancels the deletion
    buy_pack(account)
    buy_pack(account)
    state = cancel(account)
    # Then its restriction is lifted, and it can generate again
    services = get_services()
    assert state.status is AccountStatus.ACTIVE
    assert services.accounts.require(account.id).status is AccountStatus.ACTIVE
    assert services.wallets.get(account.id).restricted is False
    now = datetime.now(UTC)
    services.wallets.hold(account.id, account.ledger_id, "job_after_paying", 10, now, generation_kind="image")
    assert services.wallets.get(account.id).balance == 90


def test_cancelling_without_a_scheduled_deletion_is_a_conflict(stack):
    with pytest.raises(DeletionNotScheduledError):
        cancel(create_account())


def test_public_content_stops_at_once_but_the_owner_still_sees_everything(stack):
    # Given an account with a public asset
    person = full_account()
    services = get_services()
    public = services.assets.get(person.account.id, person.public_asset_id)
    assert public_only([public], privacy=services.privacy) == [public]
    # When its deletion is scheduled
    schedule(person.account)
    # Then no public read path shows it, though its visibility is kept
    assert public_only([public], privacy=services.privacy) == []
    assert services.assets.get(person.account.id, person.public_asset_id).visibility is Visibility.PUBLIC
    # And the owner's own library is unaffected
    views, _ = list_assets(
        person.account.id,
        limit=50,
        cursor=None,
        kind=None,
        workspace_id=None,
        assets=services.assets,
        storage=services.asset_storage,
        settings=services.settings,
    )
    assert person.public_asset_id in [view.asset.id for view in views]
    # And a cancellation makes it public again
    cancel(person.account)
    assert public_only([public], privacy=services.privacy) == [public]


def test_new_jobs_and_purchases_are_refused_during_the_countdown(stack):
    # Given an account ready to generate and buy, scheduled for deletion
    account = ready_account(50)
    schedule(account)
    services = get_services()
    # Then a job is refused, and nothing is held
    with pytest.raises(errors.ForbiddenError):
        submit(principal_of(account), KeptMessages(), "a lighthouse")
    assert services.wallets.get(account.id).held == 0
    # And so is a checkout
    with pytest.raises(errors.ForbiddenError):
        start_checkout(
            StartCheckoutDeps.from_services(services),
            account.id,
            "pack_starter",
            "stripe",
            provider=RecordingPaymentProvider(),
            success_url="https://studio.example.com/done",
            cancel_url="https://studio.example.com/cancel",
        )


# -- the purge -----------------------------------------------------------------------------------------
def assert_purged(stack, person: FullAccount, *, ledger_before: list) -> None:
    """Nothing anywhere names the account; the ledger is kept, stripped; a receipt is kept."""
    services = get_services()
    findings = sweep_everything(stack.emulator_url, person.needles)
    assert findings == []
    ledger_after = list(services.privacy.ledger_rows(person.account.ledger_id))
    assert {row.sk for row in ledger_before} <= {row.sk for row in ledger_after}
    payment_records = [row for row in ledger_after if row.entity == "payment_record"]
    assert payment_records
    assert all("account_id" not in row.attributes for row in payment_records)
    receipt = services.privacy.receipt(account_hash(person.account.id))
    assert receipt is not None
    assert receipt.counts["job"] == len(person.job_ids)
    assert receipt.counts["stored_object"] >= 4
    assert list(services.privacy.partition_rows(person.account.id)) == []
    assert services.accounts.get(person.account.id) is None


def test_a_purge_leaves_nothing_that_names_the_account_anywhere(stack):
    # Given an account with one of everything (a job still running at its provider included),
    # scheduled for deletion, and an unrelated account
    inference = FakeProvider()
    person = full_account(inference)
    bystander = full_account()
    services = get_services()
    ledger_before = list(services.privacy.ledger_rows(person.account.ledger_id))
    schedule(person.account)
    payments = RecordingPaymentProvider()

    # When the purge runs before the deadline, nothing happens
    assert purger(payments=payments).run_due()["purged"] == 0
    assert services.accounts.get(person.account.id) is not None

    # When it runs after the deadline
    outcome = purger(clock=AFTER_THE_DEADLINE, payments=payments, inference=inference).run_due()

    # Then the account is purged: a sweep of every table and bucket finds nothing of it
    assert outcome["purged"] >= 1
    assert_purged(stack, person, ledger_before=ledger_before)
    # And the job still running was cancelled at its provider and its credits released in the ledger
    assert f"pj-{person.running_job_id}" in inference.canceled
    ledger = services.privacy.ledger_rows(person.account.ledger_id)
    kinds = [row.attributes["kind"] for row in ledger if row.entity == "ledger_entry"]
    assert kinds.count("release") >= 1
    # And the subscription was cancelled and the customer deleted at the provider
    assert ("cancel_subscription", person.subscription_id) in payments.calls
    assert ("delete_customer", person.customer_id) in payments.calls
    # And the completion email went out (the outbox keeps what was sent; nothing here does)
    from local.outbox import sent_emails

    farewell = [mail for mail in sent_emails() if mail["to"] == person.account.email]
    assert "Your Atelier account has been deleted" in [mail["subject"] for mail in farewell]
    # And the unrelated account is untouched
    assert services.accounts.get(bystander.account.id) is not None
    assert sweep_everything(stack.emulator_url, [bystander.account.email])

    # And a second run changes nothing and breaks nothing
    assert purger(clock=AFTER_THE_DEADLINE, payments=payments).run_due()["purged"] == 0
    assert_purged(stack, person, ledger_before=ledger_before)


def test_after_a_purge_the_identity_no_longer_leads_to_the_account(stack):
    # Given a purged account
    services = get_services()
    account = create_account()
    schedule(account)
    assert services.accounts.find_by_identity(account.identity_issuer, account.identity_subject) is not None
    purger(clock=AFTER_THE_DEADLINE).purge(account.id)
    # Then its identity finds nothing: the next sign-in with it makes a new account
    assert services.accounts.find_by_identity(account.identity_issuer, account.identity_subject) is None


class Killed(Exception):
    """The function was stopped here (a timeout, a crash)."""


@pytest.mark.parametrize("stop_after", ["begin", *PURGE_STEPS])
def test_a_purge_stopped_after_any_step_finishes_on_the_next_run(stack, stop_after):
    # Given an account with one of everything, due for purge
    inference = FakeProvider()
    person = full_account(inference)
    ledger_before = list(get_services().privacy.ledger_rows(person.account.ledger_id))
    schedule(person.account)

    def stop(step: str) -> None:
        if step == stop_after:
            raise Killed(step)

    # When a purge is stopped after one step's work, before it is recorded
    with pytest.raises(Killed):
        purger(clock=AFTER_THE_DEADLINE, inference=inference, checkpoint=stop).purge(person.account.id)
    # Then it cannot be cancelled any more (unless it had not begun)
    state = get_services().privacy.deletion_state(person.account.id)
    if state is not None:
        assert state.purge_started_at is not None
        with pytest.raises(PurgeStartedError):
            cancel(person.account)

    # And the next run finishes it, completely and consistently
    assert purger(clock=AFTER_THE_DEADLINE, inference=inference).purge(person.account.id) is True
    assert_purged(stack, person, ledger_before=ledger_before)
    # And a run after that finds nothing to do
    assert purger(clock=AFTER_THE_DEADLINE).purge(person.account.id) is True


def test_a_payment_provider_failure_does_not_hold_the_purge_and_is_retried(stack):
    # Given an account with a subscription, due for purge, and a payment provider that is down
    person = full_account()
    ledger_before = list(get_services().privacy.ledger_rows(person.account.ledger_id))
    schedule(person.account)
    payments = RecordingPaymentProvider(failing=True)
    # When the purge runs
    purger(clock=AFTER_THE_DEADLINE, payments=payments).run_due()
    # Then the account is purged anyway, and the receipt keeps what the provider still owes
    services = get_services()
    assert services.accounts.get(person.account.id) is None
    receipt = services.privacy.receipt(account_hash(person.account.id))
    assert {action.action for action in receipt.pending_provider_actions} == {"cancel_subscription", "delete_customer"}
    assert receipt.next_provider_try_at is not None
    # When the provider is back and a later run comes
    payments.failing = False
    later = MovedClock(timedelta(hours=74))
    assert purger(clock=later, payments=payments).run_due()["provider_retries"] >= 1
    # Then the calls are made and the receipt forgets the provider's ids
    assert ("cancel_subscription", person.subscription_id) in payments.calls
    receipt = services.privacy.receipt(account_hash(person.account.id))
    assert receipt.pending_provider_actions == []
    assert receipt.next_provider_try_at is None
    assert_purged(stack, person, ledger_before=ledger_before)


def test_a_provider_that_never_answers_is_given_up_on_without_keeping_its_ids(stack):
    person = full_account()
    schedule(person.account)
    payments = RecordingPaymentProvider(failing=True)
    purger(clock=AFTER_THE_DEADLINE, payments=payments).run_due()
    services = get_services()
    receipt = services.privacy.receipt(account_hash(person.account.id))
    run = purger(clock=MovedClock(timedelta(hours=80)), payments=payments)
    for _ in range(services.settings.privacy.purge_provider_attempts):
        receipt = run.retry_providers(receipt)
    assert receipt.pending_provider_actions == []
    assert receipt.provider_actions_abandoned == {"stripe": 2}
    assert sweep_everything(stack.emulator_url, [person.customer_id, person.subscription_id]) == []


def test_the_purge_finds_due_accounts_without_a_scan(stack):
    # Given an account due for purge, and every DynamoDB call counted
    import botocore.session

    account = create_account()
    schedule(account)
    operations: list[str] = []
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb.*", lambda event_name, **_: operations.append(event_name))
        return client

    from tests.support.stack import reset_cached_clients

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        reset_cached_clients()
        purger(clock=AFTER_THE_DEADLINE).run_due()
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
        reset_cached_clients()
    # Then the account is gone, and not one Scan was made
    assert get_services().accounts.get(account.id) is None
    assert operations
    assert not [name for name in operations if name.endswith(".Scan")]


@pytest.mark.parametrize("stop_after", ["jobs", "partition"])
def test_outputs_of_a_job_finishing_after_the_purge_started_are_discarded(stack, stop_after):
    # Given a job running at its provider, read by a worker just before its account's purge began
    from atelier.integrations.inference.base import ProviderJob, ProviderOutput, ProviderStatus
    from atelier.usecases.run_generation import finish
    from tests.integration.test_privacy_helpers import run_queued
    from tests.support.generation import png_bytes

    services = get_services()
    inference = FakeProvider(asynchronous=True, polls_to_finish=99)
    account = ready_account(20)
    queue = KeptMessages()
    prompt = f"a late result {account.id[-6:]}"
    job = submit(principal_of(account), queue, prompt)
    run_queued(queue, inference, max_steps=1)
    seen_by_worker = services.jobs.get(account.id, job.id)
    assert seen_by_worker.status is JobStatus.RUNNING
    schedule(account)

    def stop(step: str) -> None:
        if step == stop_after:
            raise Killed(step)

    # When the purge is stopped after a step, and the worker then stores the provider's result
    with pytest.raises(Killed):
        purger(clock=AFTER_THE_DEADLINE, inference=inference, checkpoint=stop).purge(account.id)
    succeeded = ProviderJob(
        provider_job_id=seen_by_worker.provider_job_id,
        status=ProviderStatus.SUCCEEDED,
        outputs=[ProviderOutput(content=png_bytes(), content_type="image/png")],
    )
    finish(
        seen_by_worker,
        succeeded,
        inference,
        jobs=services.jobs,
        wallets=services.wallets,
        storage=services.asset_storage,
        clock=services.clock,
        settings=services.settings,
        safety=services.output_safety,
    )
    # Then nothing is charged for it, and once the purge has run to its end nothing of it is kept
    assert purger(clock=AFTER_THE_DEADLINE, inference=inference).purge(account.id) is True
    assert list(services.asset_objects.list(account_prefix(account.id))) == []
    assert services.wallets.ledger_sum(account.ledger_id) == 20
    assert sweep_everything(stack.emulator_url, [account.id, prompt]) == []


class FailingFor:
    """The assets bucket, failing for one account's prefix (its store is down for it, say)."""

    def __init__(self, real, account_id: str):
        self.real = real
        self.prefix = account_prefix(account_id)

    def list(self, prefix):
        return self.real.list(prefix)

    def delete_prefix(self, prefix):
        if prefix == self.prefix:
            raise errors.DependencyUnavailableError()
        return self.real.delete_prefix(prefix)


def test_one_account_failing_to_purge_does_not_hold_up_the_others(stack):
    # Given two accounts due for purge, the first of which cannot be purged right now
    services = get_services()
    stuck, other = create_account(), create_account()
    schedule(stuck)
    schedule(other)
    # When the purge runs
    outcome = purger(clock=AFTER_THE_DEADLINE, asset_objects=FailingFor(services.asset_objects, stuck.id)).run_due()
    # Then the other is purged, and the stuck one is left, started, for the next run
    assert outcome["failed"] == 1
    assert services.accounts.get(other.id) is None
    assert services.privacy.deletion_state(stuck.id).steps_done == ["jobs", "access", "providers"]
    # And the next run finishes it
    assert purger(clock=AFTER_THE_DEADLINE).run_due()["purged"] >= 1
    assert services.accounts.get(stuck.id) is None
