"""In-memory fakes of the ports the money use cases take (submit_job, cancel_job, a job's settlement,
handle_payment_event), for the domain tests: no emulator, no table.

A fake is worth what it shares with the real repository, so each one keeps the real one's
conditions and refusals:

- Money moves in a `MemoryUnitOfWork`: each step states its conditions (labelled like the real
  step's DynamoDB operations) and its writes; every condition is checked against the state before
  any write, then all the writes happen, or none. A refusal raises what the real unit raises, through
  the same `atelier.data.unit_of_work.refusal`.
- A fake repository's step is the real repository's step with only its `write` replaced
  (`_kept_in_memory`): the label and the domain error of its refusal are the real ones.
- The wallet's reasons for refusing a hold, its clawbacks and its restrictions are the pure rules
  of `atelier.models.money`, as the real wallet uses them; the fake mirrors only the storage.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from atelier import errors
from atelier.data.account_status import lift_restriction_step
from atelier.data.accounts import AccountRepository
from atelier.data.assets import UploadRepository
from atelier.data.jobs import JobRepository, SubmissionSteps
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.unit_of_work import Refused, Step, refusal
from atelier.data.wallets import NO_CAP_HEADROOM, Grant, PaymentRecord, Reversal, month_of, reversal_clawback
from atelier.integrations.inference.base import ProviderOutput
from atelier.integrations.media_moderation import MediaVerdict, Verdict
from atelier.models import money
from atelier.models.accounts import Account, AccountStatus, PolicyKind, PolicyVersion, effective_status
from atelier.models.billing import LedgerKind, Subscription, UnmatchedPayment, Wallet
from atelier.models.email import OutgoingEmail, SentEmail
from atelier.models.generation import Asset, Job, JobError, JobStatus, Upload
from atelier.usecases.screen_media import OutputSafety

_UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


# -- the unit of work ------------------------------------------------------------------------------


@dataclass
class _Condition:
    label: str
    holds: Callable[[], bool]
    as_was: Callable[[], Any]


@dataclass
class MemoryTransaction:
    """What an in-memory step writes into: labelled conditions, and the changes made if all hold."""

    conditions: list[_Condition] = field(default_factory=list)
    changes: list[Callable[[], None]] = field(default_factory=list)

    def require(self, label: str, holds: Callable[[], bool], *, as_was: Callable[[], Any] = lambda: None) -> None:
        """`as_was` is the refusal's reason, as DynamoDB returns the item as it was when asked to."""
        self.conditions.append(_Condition(label, holds, as_was))

    def change(self, write: Callable[[], None]) -> None:
        self.changes.append(write)


class MemoryUnitOfWork:
    """`atelier.data.unit_of_work.UnitOfWork` over memory: all of it happens, or none."""

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self.steps: list[Step] = list(steps)

    def add(self, *steps: Step) -> MemoryUnitOfWork:
        self.steps.extend(steps)
        return self

    def commit(self) -> None:
        tx = MemoryTransaction()
        for step in self.steps:
            step.write(tx)  # type: ignore[arg-type]  # an in-memory step writes into memory
        # As in a DynamoDB transaction, every condition is read against the state before any write.
        refused = [condition for condition in tx.conditions if not condition.holds()]
        failures = {condition.label: condition.as_was() for condition in refused}
        if failures:
            error = refusal(self.steps, failures)
            if error is None:
                raise AssertionError(f"refused by conditions no step is labelled with: {sorted(failures)}")
            raise error
        for write in tx.changes:
            write()


def _kept_in_memory(real: Step, write: Callable[[MemoryTransaction], None]) -> Step:
    """The real repository's step (its label, the domain error of its refusal), writing to memory."""
    return dataclasses.replace(real, write=write)  # type: ignore[arg-type]


# -- accounts --------------------------------------------------------------------------------------


@dataclass
class FakeAccounts:
    """AccountRepository's reads and steps, and the account row's status as money changes it
    (`atelier.data.account_status`). Workspaces are kept here with their content counts."""

    accounts: dict[str, Account] = field(default_factory=dict)
    workspaces: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, account: Account) -> Account:
        self.accounts[account.id] = account
        self.workspaces.setdefault((account.id, account.default_workspace_id), 0)
        return account

    def get(self, account_id: str) -> Account | None:
        """The account as AccountRepository reads it: a standing suspension shows as its status."""
        stored = self.accounts.get(account_id)
        if stored is None:
            return None
        return stored.model_copy(update={"status": effective_status(stored.status.value, stored.suspended_at)})

    def require(self, account_id: str) -> Account:
        account = self.get(account_id)
        if account is None:
            raise errors.NotFoundError()
        return account

    def set_status(self, account_id: str, status: str) -> None:
        self.accounts[account_id] = self.accounts[account_id].model_copy(update={"status": AccountStatus(status)})

    def may_generate_step(self, account_id: str, terms_version: str) -> Step:
        def may_generate() -> bool:
            account = self.accounts.get(account_id)
            return (
                account is not None
                and account.age_confirmed
                and account.terms_version == terms_version
                and account.status is AccountStatus.ACTIVE
                and account.suspended_at is None
            )

        def write(tx: MemoryTransaction) -> None:
            tx.require("account", may_generate)

        return _kept_in_memory(AccountRepository().may_generate_step(account_id, terms_version), write)

    # atelier.data.account_status
    def restrict_account(self, account_id: str) -> None:
        account = self.accounts.get(account_id)
        if account is not None and account.status.value in money.STATUSES_A_DEBT_RESTRICTS:
            self.set_status(account_id, "restricted")

    def lift_restriction_step(self, account_id: str) -> Step:
        def write(tx: MemoryTransaction) -> None:
            tx.require(
                "account",
                lambda: (
                    account_id in self.accounts
                    and self.accounts[account_id].status.value in money.STATUSES_SETTLING_MAKES_ACTIVE
                ),
            )
            tx.change(lambda: self.set_status(account_id, "active"))

        return _kept_in_memory(lift_restriction_step(account_id), write)


# -- wallets and the ledger ------------------------------------------------------------------------


@dataclass
class WalletRow:
    ledger_id: str
    spend_month: str
    balance: int = 0
    held: int = 0
    spend_cap: int | None = None
    cap_headroom: int = NO_CAP_HEADROOM
    spent_month: int = 0
    restricted: bool = False
    jobs_in_flight: int = 0


@dataclass
class HoldRow:
    credits: int
    status: str
    spend_month: str
    generation_kind: str | None


@dataclass(frozen=True)
class LedgerRow:
    ledger_id: str
    credits: int
    kind: LedgerKind
    reference: str


@dataclass
class PaymentRow:
    ledger_id: str
    account_id: str | None
    provider: str
    payment_key: str
    credits: int
    amount_minor: int | None
    reversed_minor: int = 0
    clawed_credits: int = 0


@dataclass
class FakeWallets:
    """WalletRepository over memory: holds, settles, releases, grants and clawbacks with the real
    conditions, each in one MemoryUnitOfWork with the caller's steps."""

    accounts: FakeAccounts
    wallets: dict[str, WalletRow] = field(default_factory=dict)
    holds: dict[tuple[str, str], HoldRow] = field(default_factory=dict)
    ledger: list[LedgerRow] = field(default_factory=list)
    payments: dict[tuple[str, str, str], PaymentRow] = field(default_factory=dict)
    payment_refs: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    reversals: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def open(self, account_id: str, ledger_id: str, now: datetime, *, balance: int = 0) -> None:
        """A new account's wallet; a starting balance comes with its ledger entry."""
        self.wallets[account_id] = WalletRow(ledger_id=ledger_id, spend_month=month_of(now), balance=balance)
        if balance:
            self.ledger.append(LedgerRow(ledger_id, balance, LedgerKind.ADJUSTMENT, "opening"))

    # -- reads
    def get(self, account_id: str) -> Wallet:
        row = self.wallets.get(account_id)
        if row is None:
            raise errors.NotFoundError()
        return Wallet(
            account_id=account_id,
            ledger_id=row.ledger_id,
            balance=row.balance,
            held=row.held,
            spend_cap=row.spend_cap,
            spend_month=row.spend_month,
            spent_this_month=row.spent_month,
            restricted=row.restricted,
        )

    def ledger_sum(self, ledger_id: str) -> int:
        return sum(row.credits for row in self.ledger if row.ledger_id == ledger_id)

    def _as_was(self, account_id: str) -> Callable[[], WalletRow | None]:
        return lambda: copy.copy(self.wallets.get(account_id))

    def _add(self, account_id: str, **deltas: int) -> Callable[[], None]:
        def write() -> None:
            row = self.wallets[account_id]
            for name, delta in deltas.items():
                setattr(row, name, getattr(row, name) + delta)

        return write

    def _entry(self, ledger_id: str, credits: int, kind: LedgerKind, reference: str) -> Callable[[], None]:
        return lambda: self.ledger.append(LedgerRow(ledger_id, credits, kind, reference))

    # -- holds
    def hold(
        self,
        account_id: str,
        ledger_id: str,
        reference: str,
        cost: int,
        now: datetime,
        *,
        generation_kind: str | None,
        max_in_flight: int | None = None,
        extra: Iterable[Step] = (),
    ) -> None:
        extra = list(extra)
        for attempt in range(2):
            month = month_of(now)

            def allows(month: str = month) -> bool:
                row = self.wallets.get(account_id)
                return (
                    row is not None
                    and row.balance >= cost
                    and row.cap_headroom >= cost
                    and row.spend_month == month
                    and not row.restricted
                    and (max_in_flight is None or row.jobs_in_flight < max_in_flight)
                )

            def write_wallet(tx: MemoryTransaction, allows: Callable[[], bool] = allows) -> None:
                tx.require("wallet", allows, as_was=self._as_was(account_id))
                tx.change(
                    self._add(
                        account_id, balance=-cost, held=cost, cap_headroom=-cost, spent_month=cost, jobs_in_flight=1
                    )
                )

            def write_hold(tx: MemoryTransaction, month: str = month) -> None:
                tx.require("hold", lambda: (account_id, reference) not in self.holds)
                tx.change(
                    lambda: self.holds.__setitem__(
                        (account_id, reference), HoldRow(cost, "held", month, generation_kind)
                    )
                )
                tx.change(self._entry(ledger_id, -cost, LedgerKind.HOLD, reference))

            try:
                MemoryUnitOfWork(extra).add(Step("wallet", write_wallet), Step("hold", write_hold)).commit()
                return
            except Refused as refused:
                if "hold" in refused.failures:
                    raise errors.ConflictError("These credits are already held.") from refused
                if "wallet" not in refused.failures:
                    raise
                row = refused.failures["wallet"]
                if row is None:
                    raise errors.NotFoundError() from refused
                reason = money.hold_refusal(
                    money.WalletAtRefusal(
                        balance=row.balance,
                        restricted=row.restricted,
                        spend_month=row.spend_month,
                        cap_headroom=row.cap_headroom,
                        jobs_in_flight=row.jobs_in_flight,
                    ),
                    cost=cost,
                    month=month,
                    max_in_flight=max_in_flight,
                    may_roll_over=attempt == 0,
                )
                if isinstance(reason, money.MonthChanged):
                    self._roll_over_month(account_id, month)
                    continue
                raise reason from refused
        raise errors.ConflictError()

    def _roll_over_month(self, account_id: str, month: str) -> None:
        row = self.wallets[account_id]
        if row.spend_month != month:
            row.spend_month, row.spent_month = month, 0
            row.cap_headroom = row.spend_cap if row.spend_cap is not None else NO_CAP_HEADROOM

    def settle(
        self, account_id: str, ledger_id: str, reference: str, actual: int, now: datetime, *, extra: Iterable[Step] = ()
    ) -> bool:
        hold = self.holds.get((account_id, reference))
        if hold is None or hold.status != "held":
            return False
        charged = max(0, min(actual, hold.credits))
        returned = hold.credits - charged
        deltas = {"held": -hold.credits, "balance": returned, "jobs_in_flight": -1}
        if hold.spend_month == month_of(now) and returned:
            deltas |= {"cap_headroom": returned, "spent_month": -returned}
        entries = [self._entry(ledger_id, 0, LedgerKind.SETTLE, reference)]
        if returned:
            entries.append(self._entry(ledger_id, returned, LedgerKind.RELEASE, reference))
        return self._close_hold(account_id, reference, "settled", deltas, entries, extra)

    def release(
        self, account_id: str, ledger_id: str, reference: str, now: datetime, *, extra: Iterable[Step] = ()
    ) -> bool:
        hold = self.holds.get((account_id, reference))
        if hold is None or hold.status != "held":
            return False
        deltas = {"held": -hold.credits, "balance": hold.credits, "jobs_in_flight": -1}
        if hold.spend_month == month_of(now):
            deltas |= {"cap_headroom": hold.credits, "spent_month": -hold.credits}
        entries = [self._entry(ledger_id, hold.credits, LedgerKind.RELEASE, reference)]
        return self._close_hold(account_id, reference, "released", deltas, entries, extra)

    def _close_hold(
        self,
        account_id: str,
        reference: str,
        status: str,
        deltas: dict[str, int],
        entries: list[Callable[[], None]],
        extra: Iterable[Step],
    ) -> bool:
        extra = list(extra)

        def write_hold(tx: MemoryTransaction) -> None:
            tx.require("hold", lambda: self.holds[(account_id, reference)].status == "held")
            tx.change(lambda: setattr(self.holds[(account_id, reference)], "status", status))
            for entry in entries:
                tx.change(entry)

        for unrestricted in (True, False):

            def write_wallet(tx: MemoryTransaction, unrestricted: bool = unrestricted) -> None:
                if unrestricted:
                    tx.require("wallet", lambda: not self.wallets[account_id].restricted)
                tx.change(self._add(account_id, **deltas))

            try:
                MemoryUnitOfWork([Step("hold", write_hold), Step("wallet", write_wallet), *extra]).commit()
            except Refused as refused:
                if set(refused.failures) == {"wallet"}:
                    continue
                return False
            if not unrestricted:
                self.lift_restriction_if_settled(account_id)
            return True
        return False

    # -- payments
    def grant(self, grant: Grant, *, inbox: Step | None = None) -> bool:
        for unrestricted in (True, False):
            granted = self._grant_once(grant, inbox, unrestricted=unrestricted)
            if granted is not None:
                if granted and not unrestricted:
                    self.lift_restriction_if_settled(grant.account_id)
                return granted
        return False

    def _grant_once(self, grant: Grant, inbox: Step | None, *, unrestricted: bool) -> bool | None:
        record_key = (grant.ledger_id, grant.provider, grant.payment_key)

        def write_record(tx: MemoryTransaction) -> None:
            tx.require("record", lambda: record_key not in self.payments)
            tx.change(
                lambda: self.payments.__setitem__(
                    record_key,
                    PaymentRow(
                        ledger_id=grant.ledger_id,
                        account_id=grant.account_id,
                        provider=grant.provider,
                        payment_key=grant.payment_key,
                        credits=grant.credits,
                        amount_minor=grant.amount.value_minor if grant.amount else None,
                    ),
                )
            )
            tx.change(self._entry(grant.ledger_id, grant.credits, grant.kind, grant.payment_key))
            for reference in {grant.payment_key, *grant.payment_refs}:
                tx.change(
                    lambda reference=reference: self.payment_refs.__setitem__(
                        (grant.provider, reference), (grant.ledger_id, grant.payment_key)
                    )
                )

        def write_wallet(tx: MemoryTransaction) -> None:
            row = self.wallets.get
            tx.require(
                "wallet",
                lambda: row(grant.account_id) is not None and not (unrestricted and row(grant.account_id).restricted),
                as_was=self._as_was(grant.account_id),
            )
            tx.change(self._add(grant.account_id, balance=grant.credits))

        try:
            MemoryUnitOfWork([Step("record", write_record), Step("wallet", write_wallet), *_optional(inbox)]).commit()
        except Refused as refused:
            if "record" in refused.failures:
                return False
            if "wallet" in refused.failures:
                if unrestricted and refused.failures["wallet"] is not None:
                    return None
                raise errors.NotFoundError("No wallet for this account.") from refused
            raise
        return True

    def find_payment(self, provider: str, reference: str) -> PaymentRecord | None:
        pointer = self.payment_refs.get((provider, reference))
        row = self.payments.get((pointer[0], provider, pointer[1])) if pointer else None
        if row is None:
            return None
        return PaymentRecord(
            ledger_id=row.ledger_id,
            account_id=row.account_id,
            provider=row.provider,
            payment_key=row.payment_key,
            credits=row.credits,
            amount_minor=row.amount_minor,
            reversed_minor=row.reversed_minor,
            clawed_credits=row.clawed_credits,
        )

    def claw_back(self, payment: PaymentRecord, reversal: Reversal, *, inbox: Step | None = None) -> int | None:
        if payment.account_id is None:
            return None
        account_id = payment.account_id
        taken = reversal_clawback(payment, reversal)
        credits = taken.credits
        reversal_key = (payment.ledger_id, reversal.provider, reversal.reversal_key)
        record_key = (payment.ledger_id, payment.provider, payment.payment_key)

        def write_reversal(tx: MemoryTransaction) -> None:
            tx.require("reversal", lambda: reversal_key not in self.reversals)
            tx.change(lambda: self.reversals.__setitem__(reversal_key, credits))

        def write_payment(tx: MemoryTransaction) -> None:
            def unchanged() -> bool:
                row = self.payments.get(record_key)
                return (
                    row is not None
                    and row.clawed_credits == payment.clawed_credits
                    and row.reversed_minor == payment.reversed_minor
                )

            def write() -> None:
                row = self.payments[record_key]
                row.reversed_minor = taken.reversed_minor
                row.clawed_credits = payment.clawed_credits + credits

            tx.require("payment", unchanged)
            tx.change(write)

        def write_wallet(tx: MemoryTransaction) -> None:
            tx.change(self._add(account_id, balance=-credits))
            tx.change(self._entry(payment.ledger_id, -credits, reversal.kind, reversal.reversal_key))

        steps = [Step("reversal", write_reversal), Step("payment", write_payment), Step("wallet", write_wallet)]
        try:
            MemoryUnitOfWork([*steps, *_optional(inbox)]).commit()
        except Refused as refused:
            if "reversal" in refused.failures:
                return None
            if "payment" in refused.failures:
                raise errors.ConflictError("Another reversal of this payment was applied; retry.") from refused
            raise
        return credits

    def restrict(self, account_id: str) -> None:
        row = self.wallets.get(account_id)
        if row is None or not money.restricts(row.balance):
            return
        row.restricted = True
        self.accounts.restrict_account(account_id)

    def lift_restriction_if_settled(self, account_id: str) -> None:
        def write_wallet(tx: MemoryTransaction) -> None:
            row = self.wallets.get
            tx.require(
                "wallet",
                lambda: (
                    row(account_id) is not None
                    and money.restriction_lifts(row(account_id).balance, row(account_id).restricted)
                ),
            )
            tx.change(lambda: setattr(self.wallets[account_id], "restricted", False))

        try:
            MemoryUnitOfWork([Step("wallet", write_wallet), self.accounts.lift_restriction_step(account_id)]).commit()
        except Refused:
            return


def _optional(step: Step | None) -> list[Step]:
    return [] if step is None else [step]


# -- jobs ------------------------------------------------------------------------------------------


@dataclass
class FakeJobs:
    """JobRepository's money steps and reads over memory: the job, its Idempotency-Key and its
    workspace's content count change only with the credits."""

    accounts: FakeAccounts
    jobs: dict[tuple[str, str], Job] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)

    def submission_steps(
        self, job: Job, *, idempotency_key_hash: str | None, body_hash: str, now: datetime
    ) -> SubmissionSteps:
        real = JobRepository().submission_steps(
            job, idempotency_key_hash=idempotency_key_hash, body_hash=body_hash, now=now
        )
        job_key = (job.account_id, job.id)
        workspace_key = (job.account_id, job.workspace_id)

        def write_job(tx: MemoryTransaction) -> None:
            tx.require("job", lambda: job_key not in self.jobs)
            tx.change(lambda: self.jobs.__setitem__(job_key, job))

        def write_idempotency(tx: MemoryTransaction) -> None:
            key = (job.account_id, idempotency_key_hash or "")
            tx.require("idempotency", lambda: key not in self.idempotency)
            tx.change(lambda: self.idempotency.__setitem__(key, (job.id, body_hash)))

        def write_workspace(tx: MemoryTransaction) -> None:
            tx.require("workspace", lambda: workspace_key in self.accounts.workspaces)
            tx.change(
                lambda: self.accounts.workspaces.__setitem__(workspace_key, self.accounts.workspaces[workspace_key] + 1)
            )

        return SubmissionSteps(
            job=_kept_in_memory(real.job, write_job),
            idempotency=_kept_in_memory(real.idempotency, write_idempotency) if real.idempotency else None,
            workspace=_kept_in_memory(real.workspace, write_workspace),
        )

    def find_idempotent(self, account_id: str, key_hash: str) -> tuple[str, str] | None:
        return self.idempotency.get((account_id, key_hash))

    def get(self, account_id: str, job_id: str) -> Job | None:
        return self.jobs.get((account_id, job_id))

    def completion_step(
        self,
        job: Job,
        *,
        status: JobStatus,
        now: datetime,
        assets: Sequence[Asset] = (),
        charged: int = 0,
        compute_seconds: float | None = None,
        error: JobError | None = None,
    ) -> Step:
        real = JobRepository().completion_step(job, status=status, now=now)
        key = (job.account_id, job.id)

        def finish() -> None:
            current = self.jobs[key]
            changes: dict[str, Any] = {
                "status": status,
                "finished_at": now,
                "started_at": current.started_at or now,
                "charged_credits": charged,
                "outputs": [asset.id for asset in assets],
            }
            if compute_seconds is not None:
                changes["compute_seconds"] = compute_seconds
            if error is not None:
                changes["error"] = error
            if status is JobStatus.SUCCEEDED:
                changes["progress"] = 1.0
            self.jobs[key] = current.model_copy(update=changes)
            self.assets.update({asset.id: asset for asset in assets})

        def write(tx: MemoryTransaction) -> None:
            tx.require("job", lambda: key in self.jobs and self.jobs[key].status in _UNFINISHED)
            tx.change(finish)

        return _kept_in_memory(real, write)

    def unqueued_step(self, job: Job, *, idempotency_key_hash: str | None, now: datetime, error: JobError) -> Step:
        fail = self.completion_step(job, status=JobStatus.FAILED, now=now, error=error)

        def write(tx: MemoryTransaction) -> None:
            fail.write(tx)
            if idempotency_key_hash:
                tx.change(lambda: self.idempotency.pop((job.account_id, idempotency_key_hash), None))

        return _kept_in_memory(fail, write)


# -- uploads, policies, limits, queue, mail, the payment inbox ------------------------------------


class NoUploads:
    """The uploads of an account that has none: a job without references."""

    def get(self, account_id: str, upload_id: str) -> Upload | None:
        return None

    def first_use_step(self, account_id: str, uploads: Sequence[Upload], now: datetime) -> Step:
        if uploads:
            raise NotImplementedError("these fakes submit jobs without reference uploads")
        return _kept_in_memory(UploadRepository().first_use_step(account_id, [], now), lambda tx: None)


class NoPublishedPolicies:
    """No policy published through the API: the initial terms (settings) are in force."""

    def in_force(self, kind: PolicyKind, now: datetime) -> PolicyVersion | None:
        return None

    def upcoming(self, kind: PolicyKind, now: datetime) -> PolicyVersion | None:
        return None


@dataclass
class FakeRateLimiter:
    """Fixed windows, as RateLimiter counts them: the hit past `limit` is refused."""

    hits: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def hit(self, scope: str, subject: str, *, limit: int, window_seconds: int, now: datetime) -> None:
        epoch = int(now.timestamp())
        window_start = epoch - epoch % window_seconds
        key = (scope, subject, window_start)
        if self.hits.get(key, 0) >= limit:
            raise errors.RateLimitedError(retry_after_seconds=max(1, window_start + window_seconds - epoch))
        self.hits[key] = self.hits.get(key, 0) + 1


@dataclass
class FakeQueue:
    """MessageQueue: what was sent, with its delay; `unavailable` refuses as an SQS outage does."""

    sent: list[tuple[BaseModel, int]] = field(default_factory=list)
    unavailable: bool = False

    def send(self, message: BaseModel, *, delay_seconds: int = 0) -> None:
        if self.unavailable:
            raise errors.DependencyUnavailableError("The queue is unavailable.")
        self.sent.append((message, delay_seconds))


@dataclass
class FakeMailer:
    sent: list[OutgoingEmail] = field(default_factory=list)

    def send(self, email: OutgoingEmail) -> None:
        self.sent.append(email)


@dataclass
class FakeSentEmails:
    records: list[SentEmail] = field(default_factory=list)

    def record(self, email: SentEmail) -> None:
        self.records.append(email)


@dataclass
class FakePaymentRecords:
    """PaymentRecordsRepository's inbox (one row per provider event), unmatched payments and
    subscriptions over memory."""

    inbox: dict[tuple[str, str], str] = field(default_factory=dict)
    unmatched: dict[tuple[str, str], UnmatchedPayment] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str, str], Subscription] = field(default_factory=dict)

    def record_event(self, provider: str, event_id: str, event_type: str, now: datetime) -> bool:
        status = self.inbox.setdefault((provider, event_id), "received")
        return status != "processed"

    def mark_processed_step(self, provider: str, event_id: str) -> Step:
        def write(tx: MemoryTransaction) -> None:
            tx.change(lambda: self.mark_processed(provider, event_id))

        return _kept_in_memory(PaymentRecordsRepository().mark_processed_step(provider, event_id), write)

    def mark_processed(self, provider: str, event_id: str) -> None:
        self.inbox[(provider, event_id)] = "processed"

    def record_unmatched_payment(self, payment: UnmatchedPayment) -> bool:
        key = (payment.provider, payment.payment_key)
        if key in self.unmatched:
            return False
        self.unmatched[key] = payment
        return True

    def save_subscription(
        self, account_id: str, subscription: Subscription, customer_id: str | None, now: datetime
    ) -> None:
        self.subscriptions[(account_id, subscription.provider, subscription.subscription_id)] = subscription


# -- all of it, wired ------------------------------------------------------------------------------


@dataclass
class MoneyFakes:
    """The money ports over one shared memory, with accounts opened as sign-up opens them (the
    account, its default workspace and its wallet)."""

    clock: Any
    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    queue: FakeQueue = field(default_factory=FakeQueue)
    rate_limiter: FakeRateLimiter = field(default_factory=FakeRateLimiter)
    payments: FakePaymentRecords = field(default_factory=FakePaymentRecords)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    sent_emails: FakeSentEmails = field(default_factory=FakeSentEmails)
    uploads: NoUploads = field(default_factory=NoUploads)
    policies: NoPublishedPolicies = field(default_factory=NoPublishedPolicies)
    wallets: FakeWallets = field(init=False)
    jobs: FakeJobs = field(init=False)

    def __post_init__(self) -> None:
        self.wallets = FakeWallets(self.accounts)
        self.jobs = FakeJobs(self.accounts)

    def open_account(self, number: int, *, balance: int, terms_version: str, **fields: Any) -> Account:
        now = self.clock.now()
        account = Account(
            id=f"acct_{number:026d}",
            email=f"person{number}@example.com",
            name=f"Person {number}",
            identity_issuer="https://issuer.example",
            identity_subject=f"subject-{number}",
            created_at=now,
            age_confirmed=True,
            terms_version=terms_version,
            terms_accepted_at=now,
            default_workspace_id=f"ws_{number:026d}",
            ledger_id=f"ldg_{number:026d}",
            **fields,
        )
        self.accounts.add(account)
        self.wallets.open(account.id, account.ledger_id, now, balance=balance)
        return account


# -- a job's outputs ------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """An 8 x 8 PNG: an output the media probe, the previews and the provenance reader all take."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class FakeOutputProvider:
    """An inference provider whose outputs carry their bytes (as base64-answering ones do)."""

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        assert output.content is not None
        return output.content


class AllowEveryImage:
    def check(self, content: bytes, content_type: str) -> MediaVerdict:
        return MediaVerdict(verdict=Verdict.ALLOWED)


class SignNothing:
    """A provenance signer that leaves the content as it is (the manifest is not the point here)."""

    def mark(self, content: bytes, content_type: str, **_: Any) -> bytes:
        return content

    def mark_preview(self, preview: bytes, content_type: str, **_: Any) -> bytes:
        return preview


def output_safety() -> OutputSafety:
    """Screening that lets every output through unsigned: no moderation service, no certificate."""
    return OutputSafety(moderation=AllowEveryImage(), signer=SignNothing(), moderation_records=None, reports=None)  # type: ignore[arg-type]


@dataclass
class FakeAssetStore:
    """The assets bucket: keys to bytes."""

    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self.objects[key] = body

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def delete_under(self, prefix: str) -> None:
        self.delete([key for key in self.objects if key.startswith(prefix)])
