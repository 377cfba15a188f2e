"""AWS API calls per operation, counted with botocore's event hooks on every client the code makes.

    python -m bench.aws_calls

Runs the real code against the embedded emulator (the local runtime's, from template.yaml) and
prints, per operation, the calls made by service and operation name, against its goal.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import botocore.session

_counter: Counter[str] = Counter()
_lock = threading.Lock()
_installed = False


def _count(event_name: str, **_: Any) -> None:
    # before-call.<service>.<Operation>
    _, service, operation = event_name.split(".", 2)
    with _lock:
        _counter[f"{service}.{operation}"] += 1


def install() -> None:
    """Counts calls of every botocore session created from now on (boto3's and PynamoDB's)."""
    global _installed
    if _installed:
        return
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.*.*", _count)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    _installed = True


@contextmanager
def counting() -> Iterator[Counter[str]]:
    with _lock:
        _counter.clear()
    seen: Counter[str] = Counter()
    yield seen
    with _lock:
        seen.update(_counter)


def measure(name: str, goal: int | None, action: Callable[[], Any]) -> tuple[str, int, int | None, Counter[str]]:
    with counting() as calls:
        action()
    return name, sum(calls.values()), goal, calls


def main() -> int:
    install()
    from tests.support.stack import running_stack

    with running_stack(stand_ins=[]):
        rows = list(_scenarios())
    print("AWS calls per operation (botocore before-call events)")
    print(f"{'operation':<34} {'calls':>5} {'goal':>5}  detail")
    for name, total, goal, calls in rows:
        verdict = "" if goal is None else ("met" if total <= goal else "MISSED")
        detail = ", ".join(f"{op} x{n}" for op, n in sorted(calls.items()))
        print(f"{name:<34} {total:>5} {goal if goal is not None else '-':>5}  {verdict:<6} {detail}")
    return 0


def _scenarios() -> Iterator[tuple[str, int, int | None, Counter[str]]]:
    from atelier.clock import SystemClock
    from atelier.data.wallets import WalletRepository
    from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
    from atelier.models.billing import Money
    from atelier.services import get_services
    from atelier.usecases.handle_payment_event import handle_payment_event
    from tests.support.money import give_credits, new_account

    class Mailer:
        def send(self, message: Any) -> None:
            return None

    class NoEmailRecords:
        def record(self, sent: Any) -> None:
            return None

    services = get_services()
    wallets = WalletRepository()
    account = new_account()
    give_credits(account, 100)
    wallets.get(account.id)  # warm the client, as a warm container would be
    now = datetime.now(UTC)
    yield measure(
        "hold (one job's credits)",
        1,
        lambda: wallets.hold(account.id, account.ledger_id, "job_bench", 5, now, generation_kind="image"),
    )
    yield measure("settle", None, lambda: wallets.settle(account.id, account.ledger_id, "job_bench", 5, now))

    def deliver(event_id: str, payment_key: str = "cs_bench", sent_emails: Any = None) -> Any:
        return handle_payment_event(
            PaymentEvent(
                provider="stripe",
                event_id=event_id,
                event_type="checkout.session.completed",
                kind=PaymentEventKind.PAYMENT_SUCCEEDED,
                occurred_at=now,
                account_id=account.id,
                item_id="pack_starter",
                payment_key=payment_key,
                payment_refs=["pi_bench"],
                amount=Money(value_minor=999, currency="usd"),
            ),
            payments=services.payments,
            wallets=wallets,
            accounts=services.accounts,
            mailer=Mailer(),
            sent_emails=sent_emails or services.sent_emails,
            clock=SystemClock(),
            settings=services.settings,
        )

    yield measure(
        "webhook: credit grant, money path", 3, lambda: deliver("evt_bench_0", "cs_bench_0", NoEmailRecords())
    )
    yield measure("webhook: grant + receipt record", None, lambda: deliver("evt_bench_1"))
    yield measure("webhook: same event again", None, lambda: deliver("evt_bench_1"))
    yield measure("webhook: other event, same payment", None, lambda: deliver("evt_bench_2"))


if __name__ == "__main__":
    sys.exit(main())
