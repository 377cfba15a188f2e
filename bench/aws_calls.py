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


_measuring_thread: int | None = None


def _count(event_name: str, **_: Any) -> None:
    # before-call.<service>.<Operation>; only the measured request's own thread counts (the
    # local runtime's queue pollers run in others)
    if threading.get_ident() != _measuring_thread:
        return
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
    global _measuring_thread
    _measuring_thread = threading.get_ident()
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
    yield from _generation_scenarios()
    yield measure("webhook: other event, same payment", None, lambda: deliver("evt_bench_2"))


def _generation_scenarios() -> Iterator[tuple[str, int, int | None, Counter[str]]]:
    """Submit and status through the real handler, authentication included."""
    import json

    from atelier import tokens
    from atelier.services import get_services
    from atelier.usecases.accept_terms import accept_terms
    from atelier.usecases.open_session import open_session
    from functions.jobs import handler as jobs_handler
    from tests.support.events import FakeLambdaContext, api_event
    from tests.support.money import give_credits, new_account

    services = get_services()
    account = new_account()
    give_credits(account, 100)
    accept_terms(
        account.id,
        services.settings.initial_terms_version,
        accounts=services.accounts,
        policies=services.policies,
        clock=services.clock,
        settings=services.settings,
    )
    token, _ = open_session(account, sessions=services.sessions, clock=services.clock, settings=services.settings)
    assert tokens.hash_token(token)
    cookie = {"Cookie": f"__Host-session={token}", "Origin": services.settings.api_base_url or "https://bench.test"}

    def call(method: str, path: str, resource: str, body: Any = None) -> dict[str, Any]:
        event = api_event(method, path, body=json.dumps(body) if body else None, headers=cookie, resource=resource)
        event["requestContext"]["domainName"] = "bench.test"
        answer = jobs_handler.lambda_handler(event, FakeLambdaContext())
        assert answer["statusCode"] < 300, answer
        return json.loads(answer["body"])

    submission = {"kind": "image", "model": "local-image", "prompt": "a bench at dawn"}
    call("POST", "/v1/jobs", "/v1/jobs", submission)  # warm: the terms cache, the clients
    created: dict[str, Any] = {}
    yield measure(
        "POST /v1/jobs (submit, with auth)",
        4,
        lambda: created.update(call("POST", "/v1/jobs", "/v1/jobs", submission)),
    )
    job_id = created["id"]
    yield measure("GET /v1/jobs/{id} (with auth)", 2, lambda: call("GET", f"/v1/jobs/{job_id}", "/v1/jobs/{job_id}"))


if __name__ == "__main__":
    sys.exit(main())
