"""Wallets and the ledger: every change of credits is one DynamoDB transaction that updates the
wallet and appends the ledger entry together, so balance == sum of the ledger at all times.

Conditions, not reads, keep money exact under concurrency: a hold succeeds only if, at the moment
it is written, balance >= cost, the month's cap still allows the cost, and the account is not
restricted. Grants and clawbacks are keyed on the payment (or refund/dispute) object, written only
if absent in the same transaction, so a repeated event moves no money.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from atelier import errors
from atelier.data import keys
from atelier.data.account_status import lift_restriction_step, restrict_account
from atelier.data.base import Transaction, epoch_seconds, is_conditional_failure, translate_errors
from atelier.data.items import HoldItem, WalletItem
from atelier.data.ledger_items import LedgerEntryItem, PaymentRecordItem, PaymentRefItem, ReversalItem
from atelier.data.unit_of_work import Refused, Step, UnitOfWork
from atelier.ids import IdPrefix, new_id
from atelier.models import money
from atelier.models.billing import LedgerEntry, LedgerKind, Money, Wallet

LEDGER_RETENTION = timedelta(days=7 * 365 + 2)
# What `cap_headroom` holds when there is no cap: larger than any balance can be.
NO_CAP_HEADROOM = 10**15


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


@dataclass(frozen=True)
class Grant:
    account_id: str
    ledger_id: str
    provider: str
    payment_key: str
    payment_refs: list[str]
    item_id: str | None
    credits: int
    kind: LedgerKind
    amount: Money | None
    at: datetime


@dataclass(frozen=True)
class Reversal:
    provider: str
    reversal_key: str
    kind: LedgerKind  # refund | dispute
    amount: Money | None
    at: datetime
    # What the reversed payment came to in all, as the reversal names it (tax included).
    payment_total: Money | None = None


@dataclass(frozen=True)
class PaymentRecord:
    ledger_id: str
    account_id: str | None
    provider: str
    payment_key: str
    credits: int
    amount_minor: int | None
    reversed_minor: int
    clawed_credits: int


def reversal_clawback(payment: PaymentRecord, reversal: Reversal) -> money.Clawback:
    """What a reversal of this payment takes back (`money.clawback`), from the records as stored."""
    # The whole of what was paid, tax included: as the reversal states it when it does (on the
    # same footing as the money it returns), else as the payment was recorded.
    paid_minor = (
        reversal.payment_total.value_minor
        if reversal.payment_total and reversal.payment_total.value_minor
        else payment.amount_minor
    )
    return money.clawback(
        granted_credits=payment.credits,
        clawed_credits=payment.clawed_credits,
        reversed_minor=payment.reversed_minor,
        reversal_minor=reversal.amount.value_minor if reversal.amount else None,
        paid_minor=paid_minor,
    )


def _to_wallet(account_id: str, item: WalletItem) -> Wallet:
    return Wallet(
        account_id=account_id,
        ledger_id=item.ledger_id,
        balance=int(item.balance),
        held=int(item.held),
        spend_cap=None if item.spend_cap is None else int(item.spend_cap),
        spend_month=item.spend_month,
        spent_this_month=int(item.spent_month),
        restricted=bool(item.restricted),
    )


def new_wallet_item(account_id: str, ledger_id: str, now: datetime) -> WalletItem:
    return WalletItem(
        keys.account_pk(account_id),
        keys.WALLET_SK,
        entity="wallet",
        ledger_id=ledger_id,
        balance=0,
        held=0,
        cap_headroom=NO_CAP_HEADROOM,
        spend_month=month_of(now),
        spent_month=0,
        restricted=False,
    )


def _entry(
    ledger_id: str,
    at: datetime,
    credits: int,
    kind: LedgerKind,
    reference: str,
    *,
    generation_kind: str | None = None,
    amount: Money | None = None,
) -> LedgerEntryItem:
    return LedgerEntryItem(
        ledger_id,
        keys.ledger_entry_sk(new_id(IdPrefix.LEDGER_ENTRY, now_ms=int(at.timestamp() * 1000))),
        entity="ledger_entry",
        at=at,
        credits=credits,
        kind=kind.value,
        reference=reference,
        generation_kind=generation_kind,
        amount_minor=amount.value_minor if amount else None,
        currency=amount.currency if amount else None,
        expires_at=epoch_seconds(at + LEDGER_RETENTION),
    )


class WalletRepository:
    # -- reads ---------------------------------------------------------------------------------
    def get(self, account_id: str) -> Wallet:
        with translate_errors():
            try:
                item = WalletItem.get(keys.account_pk(account_id), keys.WALLET_SK, consistent_read=True)
            except WalletItem.DoesNotExist as exc:
                raise errors.NotFoundError() from exc
        return _to_wallet(account_id, item)

    def entries(self, ledger_id: str, *, limit: int, after: str | None = None) -> tuple[list[LedgerEntry], str | None]:
        """Newest first; the cursor is the last entry's id."""
        condition: Condition = LedgerEntryItem.entry_id.startswith(keys.LEDGER_ENTRY_PREFIX)
        if after:
            condition = LedgerEntryItem.entry_id.between(keys.LEDGER_ENTRY_PREFIX, keys.ledger_entry_sk(after))
        with translate_errors():
            items = list(
                LedgerEntryItem.query(
                    ledger_id, condition, scan_index_forward=False, limit=limit + 1 + (1 if after else 0)
                )
            )
        if after:
            items = [item for item in items if item.entry_id != keys.ledger_entry_sk(after)]
        page = items[:limit]
        entries = [
            LedgerEntry(
                id=item.entry_id.removeprefix(keys.LEDGER_ENTRY_PREFIX),
                ledger_id=ledger_id,
                at=item.at,
                credits=int(item.credits),
                kind=LedgerKind(item.kind),
                reference=item.reference,
                generation_kind=item.generation_kind,
                amount=Money(value_minor=int(item.amount_minor), currency=item.currency)
                if item.amount_minor is not None and item.currency
                else None,
            )
            for item in page
        ]
        cursor = entries[-1].id if len(items) > limit and entries else None
        return entries, cursor

    def ledger_sum(self, ledger_id: str) -> int:
        with translate_errors():
            return sum(
                int(item.credits)
                for item in LedgerEntryItem.query(
                    ledger_id, LedgerEntryItem.entry_id.startswith(keys.LEDGER_ENTRY_PREFIX)
                )
            )

    # -- holds ---------------------------------------------------------------------------------
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
        """Reserves `cost` credits in one unit of work, with the caller's `extra` steps (the job
        itself), whose refusals come first; raises InsufficientCreditsError, SpendCapExceededError,
        AccountRestrictedError, RateLimitedError (too many jobs in flight), ConflictError (the
        reference is held) or the domain error of the caller's step that refused."""
        extra = list(extra)
        for attempt in range(2):
            month = month_of(now)
            condition = (
                (WalletItem.balance >= cost)
                & (WalletItem.cap_headroom >= cost)
                & (WalletItem.spend_month == month)
                & (WalletItem.restricted == False)  # noqa: E712 - a DynamoDB condition
            )
            if max_in_flight is not None:
                condition &= WalletItem.jobs_in_flight.does_not_exist() | (WalletItem.jobs_in_flight < max_in_flight)
            hold = HoldItem(
                keys.account_pk(account_id),
                keys.hold_sk(reference),
                entity="hold",
                reference=reference,
                credits=cost,
                status="held",
                spend_month=month,
                generation_kind=generation_kind,
                created_at=now,
            )

            def write_wallet(tx: Transaction, condition: Any = condition) -> None:
                tx.update(
                    WalletItem(keys.account_pk(account_id), keys.WALLET_SK),
                    actions=[
                        WalletItem.balance.add(-cost),
                        WalletItem.held.add(cost),
                        WalletItem.cap_headroom.add(-cost),
                        WalletItem.spent_month.add(cost),
                        WalletItem.jobs_in_flight.add(1),
                    ],
                    condition=condition,
                    label="wallet",
                    return_values="ALL_OLD",
                )

            def write_hold(tx: Transaction, hold: HoldItem = hold) -> None:
                tx.save(hold, condition=HoldItem.sk.does_not_exist(), label="hold")
                tx.save(_entry(ledger_id, now, -cost, LedgerKind.HOLD, reference, generation_kind=generation_kind))

            try:
                UnitOfWork(extra).add(Step("wallet", write_wallet), Step("hold", write_hold)).commit()
                return
            except Refused as refused:
                if "hold" in refused.failures:
                    raise errors.ConflictError("These credits are already held.") from refused
                if "wallet" not in refused.failures:
                    raise
                current = _wallet_at_refusal(refused.failures["wallet"])
                if current is None:
                    raise errors.NotFoundError() from refused
                reason = money.hold_refusal(
                    current, cost=cost, month=month, max_in_flight=max_in_flight, may_roll_over=attempt == 0
                )
                if isinstance(reason, money.MonthChanged):
                    self._roll_over_month(account_id, month)
                    continue
                raise reason from refused
        raise errors.ConflictError()

    def settle(
        self,
        account_id: str,
        ledger_id: str,
        reference: str,
        actual: int,
        now: datetime,
        *,
        extra: Iterable[Step] = (),
    ) -> bool:
        """Charges `actual` (at most what was held) and releases the rest, exactly once. Answers
        False when the hold was already settled or released."""
        hold = self._hold(account_id, reference)
        if hold is None or hold.status != "held":
            return False
        held = int(hold.credits)
        charged = max(0, min(actual, held))
        returned = held - charged
        same_month = hold.spend_month == month_of(now)
        actions = [WalletItem.held.add(-held), WalletItem.balance.add(returned), WalletItem.jobs_in_flight.add(-1)]
        if same_month and returned:
            actions += [WalletItem.cap_headroom.add(returned), WalletItem.spent_month.add(-returned)]
        return self._close_hold(
            account_id,
            hold,
            "settled",
            actions,
            [_entry(ledger_id, now, 0, LedgerKind.SETTLE, reference, generation_kind=hold.generation_kind)]
            + (
                [_entry(ledger_id, now, returned, LedgerKind.RELEASE, reference, generation_kind=hold.generation_kind)]
                if returned
                else []
            ),
            extra,
        )

    def release(
        self, account_id: str, ledger_id: str, reference: str, now: datetime, *, extra: Iterable[Step] = ()
    ) -> bool:
        """Gives held credits back, exactly once; False when already settled or released."""
        hold = self._hold(account_id, reference)
        if hold is None or hold.status != "held":
            return False
        held = int(hold.credits)
        actions = [WalletItem.held.add(-held), WalletItem.balance.add(held), WalletItem.jobs_in_flight.add(-1)]
        if hold.spend_month == month_of(now):
            actions += [WalletItem.cap_headroom.add(held), WalletItem.spent_month.add(-held)]
        return self._close_hold(
            account_id,
            hold,
            "released",
            actions,
            [_entry(ledger_id, now, held, LedgerKind.RELEASE, reference, generation_kind=hold.generation_kind)],
            extra,
        )

    def _hold(self, account_id: str, reference: str) -> HoldItem | None:
        with translate_errors():
            try:
                return HoldItem.get(keys.account_pk(account_id), keys.hold_sk(reference), consistent_read=True)
            except HoldItem.DoesNotExist:
                return None

    def _close_hold(
        self,
        account_id: str,
        hold: HoldItem,
        status: str,
        actions: list[Any],
        entries: list[LedgerEntryItem],
        extra: Iterable[Step],
    ) -> bool:
        extra = list(extra)

        def write_hold(tx: Transaction) -> None:
            tx.update(
                HoldItem(keys.account_pk(account_id), hold.sk),
                actions=[HoldItem.status.set(status)],
                condition=HoldItem.status == "held",
                label="hold",
            )
            for entry in entries:
                tx.save(entry)

        # Credits coming back may settle what a clawback left owing: a restricted wallet is closed
        # all the same on a second attempt, then its restriction is looked at again.
        for unrestricted in (True, False):

            def write_wallet(tx: Transaction, unrestricted: bool = unrestricted) -> None:
                tx.update(
                    WalletItem(keys.account_pk(account_id), keys.WALLET_SK),
                    actions=actions,
                    condition=(WalletItem.restricted == False) if unrestricted else None,  # noqa: E712
                    label="wallet",
                )

            try:
                UnitOfWork([Step("hold", write_hold), Step("wallet", write_wallet), *extra]).commit()
            except Refused as refused:
                if set(refused.failures) == {"wallet"}:
                    continue
                # The hold was closed concurrently, or the caller's own step (its job already
                # finished) refused: either way the other close moved the money.
                return False
            if not unrestricted:
                self.lift_restriction_if_settled(account_id)
            return True
        return False

    def _roll_over_month(self, account_id: str, month: str) -> None:
        """A new month: nothing spent yet, the whole cap available again."""
        with translate_errors():
            try:
                WalletItem._get_connection().update_item(
                    keys.account_pk(account_id),
                    keys.WALLET_SK,
                    actions=[
                        WalletItem.spend_month.set(month),
                        WalletItem.spent_month.set(0),
                        WalletItem.cap_headroom.set(WalletItem.spend_cap | NO_CAP_HEADROOM),
                    ],
                    condition=WalletItem.spend_month != month,
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise

    # -- caps ----------------------------------------------------------------------------------
    def set_spend_cap(self, account_id: str, monthly_credits: int | None, now: datetime) -> Wallet:
        month = month_of(now)
        self._roll_over_month(account_id, month)
        wallet = WalletItem(keys.account_pk(account_id), keys.WALLET_SK)
        actions: list[Action]
        if monthly_credits is None:
            actions = [WalletItem.spend_cap.remove(), WalletItem.cap_headroom.set(NO_CAP_HEADROOM)]
        else:
            # Headroom = cap - spent this month, computed by DynamoDB from the stored spend.
            actions = [
                WalletItem.spend_cap.set(monthly_credits),
                WalletItem.cap_headroom.set(monthly_credits - WalletItem.spent_month),
            ]
        with translate_errors():
            try:
                wallet.update(actions=actions, condition=WalletItem.spend_month == month)
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.ConflictError("The month changed; try again.") from exc
                raise
        return _to_wallet(account_id, wallet)

    # -- payments ------------------------------------------------------------------------------
    def grant(self, grant: Grant, *, inbox: Step | None = None) -> bool:
        """Credits a paid object once: False when it was already granted. `inbox` is an extra
        step (marking the provider event processed) written in the same unit of work."""
        record = PaymentRecordItem(
            grant.ledger_id,
            keys.payment_sk(grant.provider, grant.payment_key),
            entity="payment_record",
            provider=grant.provider,
            payment_key=grant.payment_key,
            payment_refs=list(grant.payment_refs),
            account_id=grant.account_id,
            item_id=grant.item_id,
            credits=grant.credits,
            amount_minor=grant.amount.value_minor if grant.amount else None,
            currency=grant.amount.currency if grant.amount else None,
            at=grant.at,
            expires_at=epoch_seconds(grant.at + LEDGER_RETENTION),
        )
        # A restricted wallet is credited on a second attempt, and its restriction then looked at
        # again: deciding that from the wallet as the grant finds it, not from an earlier read of
        # the account, lifts a restriction that a concurrent clawback put on a moment before.
        for unrestricted in (True, False):
            granted = self._grant_once(grant, record, inbox, unrestricted=unrestricted)
            if granted is not None:
                if granted and not unrestricted:
                    self.lift_restriction_if_settled(grant.account_id)
                return granted
        return False

    def _grant_once(
        self, grant: Grant, record: PaymentRecordItem, inbox: Step | None, *, unrestricted: bool
    ) -> bool | None:
        """True when granted, False when the payment was granted before, None when the wallet is
        restricted and `unrestricted` was asked for."""
        condition = WalletItem.pk.exists()
        if unrestricted:
            condition &= WalletItem.restricted == False  # noqa: E712 - a DynamoDB condition

        def write_record(tx: Transaction) -> None:
            tx.save(record, condition=PaymentRecordItem.entry_id.does_not_exist(), label="record")
            tx.save(
                _entry(grant.ledger_id, grant.at, grant.credits, grant.kind, grant.payment_key, amount=grant.amount)
            )
            for reference in {grant.payment_key, *grant.payment_refs}:
                tx.save(
                    PaymentRefItem(
                        keys.payment_ref_pk(grant.provider, reference),
                        "PAYREF",
                        entity="payment_ref",
                        target_ledger_id=grant.ledger_id,
                        payment_key=grant.payment_key,
                        expires_at=epoch_seconds(grant.at + LEDGER_RETENTION),
                    )
                )

        def write_wallet(tx: Transaction) -> None:
            tx.update(
                WalletItem(keys.account_pk(grant.account_id), keys.WALLET_SK),
                actions=[WalletItem.balance.add(grant.credits)],
                condition=condition,
                label="wallet",
                return_values="ALL_OLD",
            )

        try:
            UnitOfWork([Step("record", write_record), Step("wallet", write_wallet), *_optional(inbox)]).commit()
        except Refused as refused:
            if "record" in refused.failures:
                return False
            if "wallet" in refused.failures:
                if unrestricted and _wallet_at_refusal(refused.failures["wallet"]) is not None:
                    return None
                raise errors.NotFoundError("No wallet for this account.") from refused
            raise
        return True

    def find_payment(self, provider: str, reference: str) -> PaymentRecord | None:
        with translate_errors():
            try:
                pointer = PaymentRefItem.get(keys.payment_ref_pk(provider, reference), "PAYREF", consistent_read=True)
                item = PaymentRecordItem.get(
                    pointer.target_ledger_id, keys.payment_sk(provider, pointer.payment_key), consistent_read=True
                )
            except (PaymentRefItem.DoesNotExist, PaymentRecordItem.DoesNotExist):
                return None
        return PaymentRecord(
            ledger_id=item.ledger_id,
            account_id=item.account_id,
            provider=item.provider,
            payment_key=item.payment_key,
            credits=int(item.credits),
            amount_minor=None if item.amount_minor is None else int(item.amount_minor),
            reversed_minor=int(item.reversed_minor or 0),
            clawed_credits=int(item.clawed_credits or 0),
        )

    def claw_back(self, payment: PaymentRecord, reversal: Reversal, *, inbox: Step | None = None) -> int | None:
        """Takes back the credits a refund or dispute reverses (atelier.models.money.clawback), once
        per refund/dispute object. The balance may go negative (the credits were already spent);
        the caller restricts the account then. Answers the credits taken, or None when this
        reversal was already applied."""
        if payment.account_id is None:
            return None
        account_id = payment.account_id
        taken = reversal_clawback(payment, reversal)
        credits = taken.credits
        record_key = keys.payment_sk(payment.provider, payment.payment_key)

        def write_reversal(tx: Transaction) -> None:
            tx.save(
                ReversalItem(
                    payment.ledger_id,
                    keys.reversal_sk(reversal.provider, reversal.reversal_key),
                    entity="reversal",
                    payment_key=payment.payment_key,
                    kind=reversal.kind.value,
                    amount_minor=reversal.amount.value_minor if reversal.amount else None,
                    credits=credits,
                    at=reversal.at,
                    expires_at=epoch_seconds(reversal.at + LEDGER_RETENTION),
                ),
                condition=ReversalItem.entry_id.does_not_exist(),
                label="reversal",
            )

        def write_payment(tx: Transaction) -> None:
            # Optimistic on what was returned and clawed so far: two reversals of one payment
            # never overlap (one that takes back no credit still adds to the money returned).
            tx.update(
                PaymentRecordItem(payment.ledger_id, record_key),
                actions=[
                    PaymentRecordItem.reversed_minor.set(taken.reversed_minor),
                    PaymentRecordItem.clawed_credits.set(payment.clawed_credits + credits),
                ],
                condition=(PaymentRecordItem.clawed_credits == payment.clawed_credits)
                & (PaymentRecordItem.reversed_minor == payment.reversed_minor),
                label="payment",
            )

        def write_wallet(tx: Transaction) -> None:
            tx.update(
                WalletItem(keys.account_pk(account_id), keys.WALLET_SK),
                actions=[WalletItem.balance.add(-credits)],
            )
            tx.save(
                _entry(
                    payment.ledger_id,
                    reversal.at,
                    -credits,
                    reversal.kind,
                    reversal.reversal_key,
                    amount=reversal.amount,
                )
            )

        steps = [Step("reversal", write_reversal), Step("payment", write_payment), Step("wallet", write_wallet)]
        try:
            UnitOfWork([*steps, *_optional(inbox)]).commit()
        except Refused as refused:
            if "reversal" in refused.failures:
                return None
            if "payment" in refused.failures:
                raise errors.ConflictError("Another reversal of this payment was applied; retry.") from refused
            raise
        return credits

    def restrict(self, account_id: str) -> None:
        """A debt (atelier.models.money.restricts) restricts the account until it is paid. The
        wallet flag is what holds check; the account's status follows only from `active`, so a
        deletion countdown (or an existing restriction) is left as it is."""
        with translate_errors():
            try:
                WalletItem(keys.account_pk(account_id), keys.WALLET_SK).update(
                    actions=[WalletItem.restricted.set(True)], condition=WalletItem.balance < money.RESTRICTED_BELOW
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise
                return
        restrict_account(account_id)

    def lift_restriction_if_settled(self, account_id: str) -> None:
        """Clears the wallet's restriction once its debt is paid, and the account's with it. An
        account counting down to deletion keeps both until the countdown ends, when
        `align_account_status` looks again."""

        def write_wallet(tx: Transaction) -> None:
            tx.update(
                WalletItem(keys.account_pk(account_id), keys.WALLET_SK),
                actions=[WalletItem.restricted.set(False)],
                condition=(WalletItem.balance >= money.RESTRICTED_BELOW) & (WalletItem.restricted == True),  # noqa: E712
                label="wallet",
            )

        try:
            UnitOfWork([Step("wallet", write_wallet), lift_restriction_step(account_id)]).commit()
        except Refused:
            return

    def align_account_status(self, account_id: str) -> None:
        """Brings the account's status in line with its wallet after a deletion countdown, during
        which a clawback could not restrict it and a payment could not lift its restriction."""
        self.restrict(account_id)
        self.lift_restriction_if_settled(account_id)


def _optional(step: Step | None) -> list[Step]:
    return [] if step is None else [step]


def _wallet_at_refusal(reason: Any) -> money.WalletAtRefusal | None:
    """The wallet as it was when a condition failed (ReturnValuesOnConditionCheckFailure)."""
    raw = getattr(reason, "raw_item", None) or getattr(reason, "item", None)
    if not raw:
        return None
    item = WalletItem.from_raw_data(raw)
    return money.WalletAtRefusal(
        balance=int(item.balance),
        restricted=bool(item.restricted),
        spend_month=item.spend_month,
        cap_headroom=int(item.cap_headroom),
        jobs_in_flight=int(item.jobs_in_flight or 0),
    )
