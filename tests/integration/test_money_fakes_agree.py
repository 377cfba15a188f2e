"""The in-memory money fakes (tests/support/money_fakes.py) behave as the real repositories do, on
what the domain tests (tests/domain/test_money_use_cases.py) rely on: the same money use cases,
run once over the fakes and once over the emulator, give the same outcomes, refusals and books.

A fake that drifts from its repository makes these differ, so a domain test can no longer pass on a
rule the real code breaks."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest

from atelier import errors
from atelier.data import keys
from atelier.data.items import AccountItem
from atelier.integrations.inference.base import ProviderJob, ProviderOutput, ProviderStatus
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.accounts import Account, Principal, PrincipalKind
from atelier.models.billing import Money
from atelier.services import get_services
from atelier.settings import Settings
from atelier.usecases.handle_payment_event import PaymentEventDeps, handle_payment_event
from atelier.usecases.manage_jobs import CancelJobDeps, cancel_job
from atelier.usecases.read_policy import terms_in_force
from atelier.usecases.run_generation import finish
from atelier.usecases.submit_job import JobSubmission, SubmitJobDeps, submit_job
from tests.support.fakes import FixedClock
from tests.support.money import give_credits, new_account
from tests.support.money_fakes import (
    FakeAssetStore,
    FakeMailer,
    FakeOutputProvider,
    FakeQueue,
    MoneyFakes,
    output_safety,
    tiny_png,
)

OVERRIDES = {"MAX_JOBS_IN_FLIGHT": "2"}
MODEL = "gpt-image-1"
PACK_PRICE = Money(value_minor=999, currency="usd")


class World(Protocol):
    """What a scenario does and looks at, over one set of repositories."""

    def open_account(self, balance: int, *, status: str | None = None, suspended: bool = False) -> Account: ...
    def use_case_deps(self) -> tuple[SubmitJobDeps, CancelJobDeps, PaymentEventDeps]: ...
    def set_status(self, account: Account, status: str) -> None: ...
    def job_statuses(self, account: Account) -> list[str]: ...
    def queued(self) -> int: ...


class FakeWorld:
    def __init__(self) -> None:
        self.clock = FixedClock(datetime.now(UTC))
        self.fakes = MoneyFakes(clock=self.clock)
        self.settings = Settings.from_environ({"INITIAL_TERMS_VERSION": "2026-01-01", **OVERRIDES})

    def open_account(self, balance: int, *, status: str | None = None, suspended: bool = False) -> Account:
        fields: dict[str, Any] = {"suspended_at": self.clock.now()} if suspended else {}
        account = self.fakes.open_account(
            len(self.fakes.accounts.accounts) + 1, balance=balance, terms_version="2026-01-01", **fields
        )
        if status:
            self.set_status(account, status)
        return account

    def use_case_deps(self) -> tuple[SubmitJobDeps, CancelJobDeps, PaymentEventDeps]:
        f = self.fakes
        submit = SubmitJobDeps(
            jobs=f.jobs,
            wallets=f.wallets,
            accounts=f.accounts,
            policies=f.policies,
            rate_limiter=f.rate_limiter,
            moderation=get_services().moderation,
            uploads=f.uploads,
            storage=None,
            queue=f.queue,
            clock=self.clock,
            settings=self.settings,
            workflows=None,
        )
        cancel = CancelJobDeps(jobs=f.jobs, wallets=f.wallets, provider_for=_no_provider, clock=self.clock)
        pay = PaymentEventDeps(
            payments=f.payments,
            wallets=f.wallets,
            accounts=f.accounts,
            mailer=f.mailer,
            sent_emails=f.sent_emails,
            clock=self.clock,
            settings=self.settings,
        )
        return submit, cancel, pay

    def set_status(self, account: Account, status: str) -> None:
        self.fakes.accounts.set_status(account.id, status)

    def job_statuses(self, account: Account) -> list[str]:
        return sorted(job.status.value for job in self.fakes.jobs.jobs.values() if job.account_id == account.id)

    def queued(self) -> int:
        return len(self.fakes.queue.sent)


class RealWorld:
    def __init__(self) -> None:
        self.clock = FixedClock(datetime.now(UTC))
        self.services = get_services()
        self.queue = FakeQueue()  # the stack's workers would take a real message
        self.settings = Settings.from_environ({**os.environ, **OVERRIDES})

    def open_account(self, balance: int, *, status: str | None = None, suspended: bool = False) -> Account:
        accounts = self.services.accounts
        account = new_account(accounts, self.clock.now())
        terms = terms_in_force(policies=self.services.policies, clock=self.clock, settings=self.settings)
        accounts.accept_terms(account.id, terms, self.clock.now())
        if balance:
            give_credits(account, balance)
        if status:
            self.set_status(account, status)
        if suspended:
            self._account_item(account).update(actions=[AccountItem.suspended_at.set(self.clock.now())])
        return accounts.require(account.id)

    def use_case_deps(self) -> tuple[SubmitJobDeps, CancelJobDeps, PaymentEventDeps]:
        s = self.services
        submit = dataclasses.replace(
            s.dependencies(SubmitJobDeps), queue=self.queue, clock=self.clock, settings=self.settings, events=None
        )
        cancel = dataclasses.replace(s.dependencies(CancelJobDeps), clock=self.clock, events=None)
        pay = dataclasses.replace(
            s.dependencies(PaymentEventDeps), mailer=FakeMailer(), clock=self.clock, settings=self.settings
        )
        return submit, cancel, pay

    def set_status(self, account: Account, status: str) -> None:
        self._account_item(account).update(actions=[AccountItem.status.set(status)])

    def job_statuses(self, account: Account) -> list[str]:
        jobs, _ = self.services.jobs.page(account.id, limit=50, after=None, status=None, workspace_id=None)
        return sorted(job.status.value for job in jobs)

    def queued(self) -> int:
        return len(self.queue.sent)

    @staticmethod
    def _account_item(account: Account) -> AccountItem:
        return AccountItem(keys.account_pk(account.id), keys.ACCOUNT_SK)


class Run:
    """Drives the use cases over one world and writes down what a client and the books see."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.submit_deps, self.cancel_deps, self.pay_deps = world.use_case_deps()
        self.seen: list[Any] = []
        self.jobs: dict[str, Any] = {}

    def _try(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            result = action()
        except errors.AtelierError as exc:
            self.seen.append((what, type(exc).__name__))
            return None
        return result

    def books(self, account: Account) -> None:
        wallets = self.submit_deps.wallets
        wallet = wallets.get(account.id)
        assert wallets.ledger_sum(account.ledger_id) == wallet.balance
        status = self.submit_deps.accounts.require(account.id).status.value
        self.seen.append(
            ("books", wallet.balance, wallet.held, wallet.restricted, status, self.world.job_statuses(account))
        )

    def submit(self, account: Account, name: str, *, key: str | None = None, prompt: str = "a lighthouse") -> None:
        principal = Principal(
            kind=PrincipalKind.ACCOUNT,
            account_id=account.id,
            via="session",
            ledger_id=account.ledger_id,
            default_workspace_id=account.default_workspace_id,
        )
        submission = JobSubmission(
            kind="image", model=MODEL, prompt=prompt, negative_prompt=None, params={}, reference_upload_ids=[]
        )
        submitted = self._try(
            f"submit {name}",
            lambda: submit_job(
                self.submit_deps, principal, submission, workspace_id=None, idempotency_key=key and account.id + key
            ),
        )
        if submitted is not None:
            earlier = self.jobs.get(name)
            self.jobs.setdefault(name, submitted.job)
            same = earlier is not None and earlier.id == submitted.job.id
            self.seen.append((f"submit {name}", submitted.job.status.value, submitted.replayed, same))
        self.seen.append(("queued", self.world.queued()))

    def cancel(self, name: str) -> None:
        job = self.jobs[name]
        canceled = self._try(f"cancel {name}", lambda: cancel_job(self.cancel_deps, job.account_id, job.id))
        if canceled is not None:
            self.seen.append((f"cancel {name}", canceled.status.value, canceled.charged_credits))

    def provider_failed(self, name: str) -> None:
        failed = ProviderJob(provider_job_id="prov-1", status=ProviderStatus.FAILED, error_code="provider_rejected")
        deps = self.submit_deps
        status = finish(
            self.jobs[name],
            failed,
            None,
            jobs=deps.jobs,
            wallets=deps.wallets,
            storage=None,
            clock=deps.clock,
            settings=deps.settings,
            safety=None,
        )
        self.seen.append((f"provider failed {name}", status.value))

    def succeeded(self, name: str) -> None:
        succeeded = ProviderJob(
            provider_job_id="prov-1",
            status=ProviderStatus.SUCCEEDED,
            outputs=[ProviderOutput(content=tiny_png(), content_type="image/png")],
        )
        deps, storage = self.submit_deps, FakeAssetStore()
        status = finish(
            self.jobs[name],
            succeeded,
            FakeOutputProvider(),
            jobs=deps.jobs,
            wallets=deps.wallets,
            storage=storage,
            clock=deps.clock,
            settings=deps.settings,
            safety=output_safety(),
        )
        self.seen.append((f"succeeded {name}", status.value, len(storage.objects)))

    def pay(self, account: Account, event: str, payment: str) -> None:
        outcome = handle_payment_event(
            self.pay_deps,
            PaymentEvent(
                provider="stripe",
                event_id=f"{account.id}-{event}",
                event_type="checkout.session.completed",
                kind=PaymentEventKind.PAYMENT_SUCCEEDED,
                occurred_at=self.submit_deps.clock.now(),
                account_id=account.id,
                item_id="pack_starter",
                payment_key=f"{account.id}-{payment}",
                amount=PACK_PRICE,
            ),
        )
        self.seen.append((f"pay {event}", outcome.value))

    def refund(self, account: Account, event: str, refund: str, minor: int, payment: str = "pi_1") -> None:
        outcome = handle_payment_event(
            self.pay_deps,
            PaymentEvent(
                provider="stripe",
                event_id=f"{account.id}-{event}",
                event_type="charge.refunded",
                kind=PaymentEventKind.REFUND,
                occurred_at=self.submit_deps.clock.now(),
                reversal_key=f"{account.id}-{refund}",
                reversed_payment=f"{account.id}-{payment}",
                amount=Money(value_minor=minor, currency="usd"),
            ),
        )
        self.seen.append((f"refund {event}", outcome.value))


def submitting_and_cancelling(world: World, run: Run) -> None:
    poor = world.open_account(7)
    run.submit(poor, "poor", key="k")
    run.books(poor)

    account = world.open_account(40)
    run.submit(account, "a", key="k1")
    run.submit(account, "a", key="k1")
    run.submit(account, "a-other", key="k1", prompt="something else")
    run.submit(account, "b")
    run.submit(account, "c")  # past the in-flight limit
    run.books(account)
    run.cancel("a")
    run.cancel("a")
    run.submit(account, "c")
    run.books(account)
    run.provider_failed("b")
    run.provider_failed("b")
    run.succeeded("c")
    run.succeeded("c")
    run.cancel("c")
    run.provider_failed("c")
    run.books(account)
    run.submit(account, "d")
    run.cancel("d")
    run.succeeded("d")  # too late: discarded, not charged
    run.books(account)


def accounts_that_may_not_generate(world: World, run: Run) -> None:
    for status, suspended in (("restricted", False), (None, True), ("deletion_scheduled", False)):
        account = world.open_account(40, status=status, suspended=suspended)
        run.submit(account, f"{status}-{suspended}", key="k")
        run.books(account)


def payments_refunds_and_debts(world: World, run: Run) -> None:
    account = world.open_account(0)
    run.pay(account, "e1", "pi_1")
    run.pay(account, "e1", "pi_1")
    run.pay(account, "e2", "pi_1")
    run.submit(account, "held")
    run.refund(account, "r1", "re_1", 500)
    run.refund(account, "r1b", "re_1", 500)
    run.books(account)
    run.refund(account, "r2", "re_2", 499)
    run.books(account)
    run.submit(account, "refused")
    run.cancel("held")
    run.books(account)

    indebted = world.open_account(0)
    run.pay(indebted, "e1", "pi_1")
    run.submit(indebted, "held-2")
    run.refund(indebted, "r1", "re_1", 999)
    run.books(indebted)
    run.pay(indebted, "e2", "pi_2")
    run.books(indebted)

    counting_down = world.open_account(0)
    run.pay(counting_down, "e1", "pi_1")
    run.submit(counting_down, "held-3")
    run.refund(counting_down, "r1", "re_1", 999)
    world.set_status(counting_down, "deletion_scheduled")
    run.pay(counting_down, "e2", "pi_2")
    run.books(counting_down)


def _no_provider(name: str) -> Any:
    raise AssertionError("a queued job is cancelled without asking its provider")


@pytest.mark.parametrize(
    "scenario", [submitting_and_cancelling, accounts_that_may_not_generate, payments_refunds_and_debts]
)
def test_the_fakes_and_the_repositories_tell_the_same_story(stack: Any, scenario: Callable[[World, Run], None]) -> None:
    stories = []
    for world in (FakeWorld(), RealWorld()):
        run = Run(world)
        scenario(world, run)
        stories.append(run.seen)
    fake, real = stories
    assert fake == real
