"""Purges accounts whose deletion countdown has ended (P9), and keeps the money records (P10).

A scheduled task runs every 15 minutes: accounts come from the sparse GSI2 list of due purges (a
Query, never a Scan), so each is purged within the hour after its deadline. A purge is a fixed
sequence of steps; after each, the step is recorded on the account row, so a purge stopped at any
point (a timeout, a crash) continues from the first unrecorded step on the next run, and every step
may safely run twice:

  jobs       jobs still queued or running are cancelled at the provider and released (their
             credits go back, in the ledger)
  access     every pointer the partition lists (session and API-key tokens, provider jobs: the
             rule the export uses too, `PrivacyRepository.pointers_listed_by`) and the identity
             link are deleted: nobody can act as the account any more, and a new sign-in with the
             same identity makes a new account
  providers  the subscription is cancelled and the customer deleted at the payment provider; what
             fails is kept (ids only) and retried on later runs, never holding the purge up
  objects    every object under accounts/<id>/ in the assets bucket (including outputs of jobs
             cancelled above), in batches of 1000
  exports    the account's export archives
  ledger     payment records lose the account id; ledger entries, keyed by the pseudonymous
             ledger id, are kept 7 years and name nobody
  partition  every other item of the account's partition, 25 per BatchWriteItem
  farewell   the completion email, sent while the address still exists
  receipt    stragglers written meanwhile are deleted, then the account row goes and a receipt
             without personal data (sha256 of the account id, times, counts) is written, together

The Powertools idempotency table holds nothing of an account's: no function uses that utility, and
its records would be keyed by a hash of a request, expiring by TTL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.jobs import JobRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.privacy import Key, PrivacyRepository
from atelier.data.wallets import WalletRepository
from atelier.integrations.bulk_storage import BulkObjectStore
from atelier.integrations.email import Mailer
from atelier.integrations.inference.base import InferenceProvider
from atelier.integrations.payments.base import PaymentProvider
from atelier.integrations.public_media import PublicMedia
from atelier.integrations.storage import account_prefix
from atelier.models.email import EmailKind
from atelier.models.generation import JobStatus
from atelier.models.privacy import DeletionReceipt, DeletionState, ProviderAction
from atelier.observability import logger, record_metric
from atelier.settings import Settings
from atelier.usecases.publish_media import withdraw_account
from atelier.usecases.run_generation import fail
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services

PROVIDER_RETRY_INTERVAL = timedelta(minutes=15)
_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
_ENDED_SUBSCRIPTIONS = frozenset({"canceled", "cancelled", "expired", "incomplete_expired"})

# Called with a step's name once its work is done, before it is recorded (tests stop a purge there).
Checkpoint = Callable[[str], None]


def account_hash(account_id: str) -> str:
    """The receipt's key: proves a given account was purged without naming it."""
    return hashlib.sha256(account_id.encode()).hexdigest()


class Purger:
    """Everything a purge touches, handed in by the caller."""

    def __init__(
        self,
        *,
        privacy: PrivacyRepository,
        accounts: AccountRepository,
        jobs: JobRepository,
        wallets: WalletRepository,
        payments: PaymentRecordsRepository,
        asset_objects: BulkObjectStore,
        export_objects: BulkObjectStore,
        public_media: PublicMedia,
        payment_provider_for: Callable[[str], PaymentProvider],
        inference_provider_for: Callable[[str], InferenceProvider],
        mailer: Mailer,
        sent_emails: SentEmailRepository,
        clock: Clock,
        settings: Settings,
        checkpoint: Checkpoint | None = None,
    ):
        self.privacy = privacy
        self.accounts = accounts
        self.jobs = jobs
        self.wallets = wallets
        self.payments = payments
        self.asset_objects = asset_objects
        self.export_objects = export_objects
        self.public_media = public_media
        self.payment_provider_for = payment_provider_for
        self.inference_provider_for = inference_provider_for
        self.mailer = mailer
        self.sent_emails = sent_emails
        self.clock = clock
        self.settings = settings
        self.checkpoint = checkpoint or (lambda _step: None)

    @classmethod
    def from_services(cls, services: Services) -> Purger:
        """The scheduled task's purger: the platform's own collaborators, no checkpoint."""
        return cls(
            privacy=services.privacy,
            accounts=services.accounts,
            jobs=services.jobs,
            wallets=services.wallets,
            payments=services.payments,
            asset_objects=services.asset_objects,
            export_objects=services.export_objects,
            public_media=services.public_media,
            payment_provider_for=services.payment_provider,
            inference_provider_for=services.inference_provider,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )

    # -- the scheduled task -------------------------------------------------------------------------
    def run_due(self) -> dict[str, int]:
        """Purges the accounts whose deadline has passed and retries what providers still owe,
        within the run's time budget; anything left is due again on the next run."""
        deadline = time.monotonic() + self.settings.privacy.purge_time_budget_seconds
        outcome = {"purged": 0, "unfinished": 0, "failed": 0, "provider_retries": 0}
        seen: set[str] = set()
        while time.monotonic() < deadline:
            batch = self.settings.privacy.purge_batch_size
            due = [
                account_id
                for account_id in self.privacy.due_for_purge(self.clock.now(), limit=batch + len(seen))
                if account_id not in seen
            ]
            if not due:
                break
            for account_id in due:
                seen.add(account_id)
                if time.monotonic() >= deadline:
                    outcome["unfinished"] += 1
                    continue
                try:
                    finished = self.purge(account_id, deadline=deadline)
                except Exception as exc:
                    # One account's failure must not hold up the others; it is due again next run.
                    logger.exception("purge failed", extra={"error_type": type(exc).__name__})
                    outcome["failed"] += 1
                    continue
                outcome["purged" if finished else "unfinished"] += 1
        for receipt in self.privacy.receipts_due(self.clock.now(), limit=self.settings.privacy.purge_batch_size):
            if time.monotonic() >= deadline:
                break
            self.retry_providers(receipt)
            outcome["provider_retries"] += 1
        self._count(outcome)
        return outcome

    def _count(self, outcome: dict[str, int]) -> None:
        record_metric("AccountsPurged", outcome["purged"])
        record_metric("PurgesUnfinished", outcome["unfinished"])
        record_metric("PurgesFailed", outcome["failed"])
        # What the PurgeOverdueAlarm watches: accounts still not purged an hour after their purge
        # time (4 runs have had their chance), written by every run, 0 included.
        overdue_before = self.clock.now() - timedelta(seconds=self.settings.privacy.purge_overdue_after_seconds)
        record_metric("AccountsPastPurgeTime", len(self.privacy.due_for_purge(overdue_before, limit=1000)))

    # -- one account --------------------------------------------------------------------------------
    def purge(self, account_id: str, *, deadline: float | None = None) -> bool:
        """Purges one due account, from wherever an earlier run stopped. True once nothing is left
        (or nothing was there); False when it is not due or the time budget ran out."""
        state = self.privacy.deletion_state(account_id)
        if state is None:
            return True
        if state.purge_started_at is None:
            now = self.clock.now()
            if not state.scheduled or state.purge_at is None or state.purge_at > now:
                return False
            if not self.privacy.begin_purge(account_id, now, self._inventory(account_id)):
                return False
            self.checkpoint("begin")
            state = self.privacy.deletion_state(account_id)
            if state is None:
                return True
        for step in STEPS:
            if step.name in state.steps_done:
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return False
            state = self._run_step(step, state)
        logger.info("account purged", extra={"counts": state.counts})
        return True

    def _run_step(self, step: PurgeStep, state: DeletionState) -> DeletionState:
        account_id = state.account_id
        if step.recorded == "before":
            self.privacy.record_step(account_id, step.name)
        provider_actions = step.run(self, state)
        self.checkpoint(step.name)
        if step.recorded == "after":
            self.privacy.record_step(account_id, step.name, provider_actions=provider_actions)
        return state.model_copy(
            update={
                "steps_done": [*state.steps_done, step.name],
                **({"pending_provider_actions": provider_actions} if provider_actions is not None else {}),
            }
        )

    # -- the steps' work -------------------------------------------------------------------------
    def _remove_access(self, state: DeletionState) -> None:
        self.privacy.delete_keys(self._listed_pointers(state))
        self.privacy.delete_identity_link(state.identity_issuer, state.identity_subject, state.account_id)

    def _delete_objects(self, state: DeletionState) -> None:
        # The public copies first (the countdown withdrew them; this is for any made since).
        withdraw_account(state.account_id, public_media=self.public_media)
        self.asset_objects.delete_prefix(account_prefix(state.account_id))

    def _inventory(self, account_id: str) -> dict[str, int]:
        """What there is to remove, counted once before anything is: the receipt's counts."""
        prefix = account_prefix(account_id)
        counts = self.privacy.count_partition(account_id)
        counts["stored_object"] = sum(1 for _ in self.asset_objects.list(prefix))
        counts["export_archive"] = sum(1 for _ in self.export_objects.list(prefix))
        return counts

    def _listed_pointers(self, state: DeletionState) -> Iterator[Key]:
        """Every pointer a row of the partition lists (token pointers, provider jobs...), found with
        the same rule the export uses. The identity link is left to its own conditional delete: a
        new sign-in with the same identity may already have re-used its key."""
        identity_link = self.privacy.identity_link_key(state.identity_issuer, state.identity_subject)
        for row in self.privacy.partition_rows(state.account_id):
            for key in self.privacy.pointers_listed_by(row):
                if key != identity_link:
                    yield key

    def _cancel_jobs(self, state: DeletionState) -> None:
        """Unfinished jobs are cancelled at their provider (best effort) and released. A result
        that still arrives is discarded: the job is final, and its outputs are deleted with the
        account's objects."""
        for job_id in self.privacy.job_ids_in(state.account_id, _UNFINISHED):
            job = self.jobs.get(state.account_id, job_id)
            if job is None or job.status.is_final:
                continue
            if job.status is JobStatus.RUNNING and job.provider_job_id:
                try:
                    self.inference_provider_for(job.provider).cancel(job.provider_job_id)
                except errors.AtelierError:
                    logger.warning("provider cancel failed during purge", extra={"provider": job.provider})
            fail(
                job,
                "canceled",
                "The account was deleted.",
                jobs=self.jobs,
                wallets=self.wallets,
                clock=self.clock,
                status=JobStatus.CANCELED,
            )

    def _provider_actions(self, account_id: str) -> list[ProviderAction]:
        actions: list[ProviderAction] = []
        for subscription, customer_id in self.payments.subscriptions(account_id):
            if subscription.status.lower() not in _ENDED_SUBSCRIPTIONS:
                actions.append(
                    ProviderAction(
                        provider=subscription.provider,
                        action="cancel_subscription",
                        object_id=subscription.subscription_id,
                    )
                )
            if customer_id:
                actions.append(
                    ProviderAction(provider=subscription.provider, action="delete_customer", object_id=customer_id)
                )
        return list(dict.fromkeys(actions))

    def _call_providers(self, actions: list[ProviderAction]) -> list[ProviderAction]:
        """Makes each call; answers those that failed (to be retried on a later run)."""
        failed = []
        for action in actions:
            try:
                provider = self.payment_provider_for(action.provider)
                if action.action == "cancel_subscription":
                    provider.cancel_subscription(action.object_id)
                else:
                    provider.delete_customer(action.object_id)
            except errors.AtelierError as exc:
                logger.warning(
                    "payment provider call failed during purge",
                    extra={"provider": action.provider, "action": action.action, "error_code": exc.code},
                )
                failed.append(action)
        return failed

    def _send_farewell(self, account_id: str) -> None:
        account = self.accounts.get(account_id)
        if account is None:
            return
        send_email(
            account,
            EmailKind.PRIVACY,
            "Your Atelier account has been deleted",
            "As you asked, your Atelier account and everything in it have been deleted. This is the "
            "last email we send to this address, which we no longer keep.\n\n"
            "Records of payments are kept for 7 years, as the law requires, with nothing that names you.",
            mailer=self.mailer,
            sent_emails=self.sent_emails,
            clock=self.clock,
        )

    def _write_receipt(self, state: DeletionState) -> None:
        # Whatever was written since the steps that remove it: the farewell email's record, the
        # outputs of a worker or the archive of an exporter that were still running.
        self.privacy.delete_keys(self.privacy.partition_keys(state.account_id, keep_account=True))
        self.asset_objects.delete_prefix(account_prefix(state.account_id))
        self.export_objects.delete_prefix(account_prefix(state.account_id))
        now = self.clock.now()
        pending = state.pending_provider_actions
        receipt = DeletionReceipt(
            account_hash=account_hash(state.account_id),
            requested_at=state.requested_at,
            purge_at=state.purge_at,
            purged_at=now,
            counts=state.counts,
            pending_provider_actions=pending,
            provider_attempts=1 if pending else 0,
            next_provider_try_at=now + PROVIDER_RETRY_INTERVAL if pending else None,
        )
        self.privacy.finish_purge(state.account_id, receipt)

    # -- what payment providers still owe -------------------------------------------------------------
    def retry_providers(self, receipt: DeletionReceipt) -> DeletionReceipt:
        still_failing = self._call_providers(receipt.pending_provider_actions)
        attempts = receipt.provider_attempts + 1
        abandoned = dict(receipt.provider_actions_abandoned)
        if still_failing and attempts >= self.settings.privacy.purge_provider_attempts:
            for action in still_failing:
                abandoned[action.provider] = abandoned.get(action.provider, 0) + 1
            logger.error("payment provider cleanup abandoned", extra={"providers": sorted(abandoned)})
            still_failing = []
        updated = receipt.model_copy(
            update={
                "pending_provider_actions": still_failing,
                "provider_attempts": attempts,
                "provider_actions_abandoned": abandoned,
                "next_provider_try_at": self.clock.now() + PROVIDER_RETRY_INTERVAL if still_failing else None,
            }
        )
        self.privacy.save_receipt(updated)
        return updated


# ----------------------------------------------------------------------------------------------------
# The steps, in order. A step's work returns the provider calls still owed when it makes them.
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PurgeStep:
    """One named step of a purge. `recorded`: when it is written down as done, so a purge stopped
    anywhere continues from the first step not recorded: after its work (the rule), before it (an
    email cannot be taken back: a run stopped after sending must not send it again), or never (the
    receipt ends the purge, with the account row)."""

    name: str
    run: Callable[[Purger, DeletionState], list[ProviderAction] | None]
    recorded: Literal["after", "before", "never"] = "after"


def _cancel_jobs(purger: Purger, state: DeletionState) -> None:
    purger._cancel_jobs(state)


def _remove_access(purger: Purger, state: DeletionState) -> None:
    purger._remove_access(state)


def _call_providers(purger: Purger, state: DeletionState) -> list[ProviderAction]:
    return purger._call_providers(purger._provider_actions(state.account_id))


def _delete_objects(purger: Purger, state: DeletionState) -> None:
    purger._delete_objects(state)


def _delete_exports(purger: Purger, state: DeletionState) -> None:
    purger.export_objects.delete_prefix(account_prefix(state.account_id))


def _strip_ledger(purger: Purger, state: DeletionState) -> None:
    purger.privacy.strip_payment_records(state.ledger_id)


def _delete_partition(purger: Purger, state: DeletionState) -> None:
    purger.privacy.delete_keys(purger.privacy.partition_keys(state.account_id, keep_account=True))


def _send_farewell(purger: Purger, state: DeletionState) -> None:
    purger._send_farewell(state.account_id)


def _write_receipt(purger: Purger, state: DeletionState) -> None:
    purger._write_receipt(state)


STEPS: tuple[PurgeStep, ...] = (
    PurgeStep("jobs", _cancel_jobs),
    PurgeStep("access", _remove_access),
    PurgeStep("providers", _call_providers),
    PurgeStep("objects", _delete_objects),
    PurgeStep("exports", _delete_exports),
    PurgeStep("ledger", _strip_ledger),
    PurgeStep("partition", _delete_partition),
    PurgeStep("farewell", _send_farewell, recorded="before"),
    PurgeStep("receipt", _write_receipt, recorded="never"),
)
PURGE_STEPS = tuple(step.name for step in STEPS)
