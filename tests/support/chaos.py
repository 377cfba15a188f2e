"""Money under chaos: a seeded plan of purchases (their webhooks duplicated and reordered), plan
renewals, refunds and disputes (some delivered before their purchase), holds, settlements,
releases, job submissions and cancellations and spend-cap changes, run concurrently through the real
code against the local runtime; then the books the plan says must be left.

The whole plan comes from `random.Random(seed)` before anything runs, so a failing seed replays the
same operations in the same order (the thread pool's timing still varies, which is the point). An
operation that needs an earlier one (a delivery needs the event its checkout produced) waits for it;
the pool hands out work in plan order, so what it waits for is already running and nothing deadlocks.

A provider re-sends a webhook its receiver refused: the deliveries answered 409 (two reversals of
one payment raced) or 503 `payment_not_yet_known` (a refund that overtook its purchase) are delivered
again once the plan has run, as the provider would, until they are accepted.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from atelier import errors
from atelier.data.wallets import NO_CAP_HEADROOM, WalletRepository, month_of
from local.payments import stripe_signature
from local.runtime import LocalRuntime
from tests.support.invariants import PlatformState

# What the local catalog sells: credits, and the price in minor units.
CATALOG: dict[str, tuple[int, int]] = {
    "pack_starter": (100, 999),
    "pack_studio": (550, 4499),
    "plan_monthly": (400, 2499),
}
PLANS = {"plan_monthly"}
# How many webhook events the sandbox issues for each button, by provider and kind of item.
EVENTS_ISSUED: dict[tuple[str, str, str], int] = {
    ("stripe", "pack", "pay"): 2,
    ("stripe", "plan", "pay"): 3,
    ("creem", "pack", "pay"): 1,
    ("creem", "plan", "pay"): 2,
    ("paypal", "pack", "pay"): 0,  # PayPal captures when the buyer returns; the capture sends its event
}
IMAGE_MODEL = "local-image"
IMAGE_PARAMS = {"width": 64, "height": 64}
IMAGE_COST = 2  # 1 + 1 per started megapixel
FIXED_CAPS = (20, 30, 45, 60)
CAP_CHOICES: tuple[int | None, ...] = (None, 5, 10, 20, 40, 80, 200)
INITIAL_CREDITS = (0, 0, 10, 30, 60)
RETRYABLE_DELIVERY = {409, 503}
REDELIVERY_ROUNDS = 25


# ------------------------------------------------------------------------------------------
# The plan.
# ------------------------------------------------------------------------------------------
@dataclass
class Op:
    """One operation. `after` is the op whose result it needs (its producer)."""

    index: int
    kind: str
    account: int
    after: int | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedPayment:
    """One paid object (a pack purchase or one period of a plan) and the money returned from it."""

    account: int
    credits: int
    amount_minor: int
    reversed_minor: int = 0

    @property
    def clawback(self) -> int:
        """What the refunds and disputes of this payment take back: in proportion to the money
        returned, rounded up, never more than was granted (DESIGN.md, money)."""
        if not self.reversed_minor:
            return 0
        return min(self.credits, math.ceil(self.credits * self.reversed_minor / self.amount_minor))


@dataclass
class AccountPlan:
    index: int
    initial_credits: int
    fixed_cap: int | None  # set before the run and never changed, so spend is checked against it exactly
    payments: list[PlannedPayment] = field(default_factory=list)

    @property
    def granted(self) -> int:
        return sum(payment.credits for payment in self.payments)

    @property
    def clawed_back(self) -> int:
        return sum(payment.clawback for payment in self.payments)


@dataclass
class Plan:
    seed: int
    accounts: list[AccountPlan]
    ops: list[Op]

    def counts(self) -> Counter[str]:
        return Counter(op.kind for op in self.ops)


@dataclass
class _Draft:
    """An op before the plan is ordered: `at` places it within the whole run (0 to about 1)."""

    kind: str
    account: int
    at: float
    after: _Draft | None = None
    args: dict[str, Any] = field(default_factory=dict)


class _Planner:
    def __init__(self, rng: random.Random, accounts: list[AccountPlan]) -> None:
        self.rng = rng
        self.accounts = accounts
        self.drafts: list[_Draft] = []
        self.references = 0

    def add(self, kind: str, account: int, at: float, after: _Draft | None = None, **args: Any) -> _Draft:
        draft = _Draft(kind, account, at, after, args)
        self.drafts.append(draft)
        return draft

    def copies(self) -> int:
        """How many times a provider sends one event: mostly once, often twice, sometimes three times."""
        return self.rng.choices((1, 2, 3), weights=(50, 35, 15))[0]

    def deliveries(self, producer: _Draft, events: int, start: float, spread: float) -> list[_Draft]:
        """Every event the producer issued, each delivered one to three times, at random moments
        after it (all copies at once now and then, so duplicates race)."""
        made = []
        for event in range(events):
            burst = self.rng.random() < 0.3
            moment = start + self.rng.random() * spread
            for _ in range(self.copies()):
                at = moment if burst else start + self.rng.random() * spread
                made.append(self.add("deliver", producer.account, at, producer, event=event))
        return made

    # -- stories -------------------------------------------------------------------------------
    def purchase(self, account: int, start: float, unit: float) -> None:
        rng = self.rng
        provider = rng.choice(("stripe", "paypal", "creem"))
        item = rng.choice(("pack_starter", "pack_studio") if provider == "paypal" else tuple(CATALOG))
        kind = "plan" if item in PLANS else "pack"
        credits, amount = CATALOG[item]
        clock = start
        pay = self.add("pay", account, clock, provider=provider, item=item)
        periods = [PlannedPayment(account, credits, amount)]
        payment_deliveries: list[_Draft] = []
        if provider == "paypal":
            clock += unit * rng.random()
            paid = self.add("paypal_return", account, clock, pay)
            if rng.random() < 0.3:  # the buyer's second tab comes back at the same moment
                self.add("paypal_return", account, clock, pay)
            for _ in range(self.copies() - 1):  # the capture event again, after the sandbox's own delivery
                payment_deliveries.append(self.add("redeliver_capture", account, clock + unit * 3 * rng.random(), paid))
            last_payment = paid
        else:
            payment_deliveries += self.deliveries(pay, EVENTS_ISSUED[(provider, kind, "pay")], clock, unit * 3)
            last_payment = pay
        if kind == "plan":
            for _ in range(rng.choice((0, 0, 1, 2))):
                clock += unit * rng.random()
                last_payment = self.add("renew", account, clock, last_payment)
                periods.append(PlannedPayment(account, credits, amount))
                payment_deliveries += self.deliveries(last_payment, 1, clock, unit * 3)
            if rng.random() < 0.3:
                clock += unit * rng.random()
                canceled = self.add("cancel_subscription", account, clock, last_payment)
                self.deliveries(canceled, 1, clock, unit * 3)
        self.accounts[account].payments += periods
        if rng.random() < 0.4:
            self.reversals(account, provider, last_payment, periods[-1], clock, unit, payment_deliveries)

    def reversals(
        self,
        account: int,
        provider: str,
        paid: _Draft,
        payment: PlannedPayment,
        clock: float,
        unit: float,
        payment_deliveries: list[_Draft],
    ) -> None:
        """One to three refunds and disputes of the latest payment, in the sandbox's order; their
        events delivered at random moments, for half of the stories before the payment's own."""
        rng = self.rng
        previous = paid
        first_delivery: _Draft | None = None
        if rng.random() < 0.15:
            # Crumbs: several small refunds, all delivered at the same moment, so they race each
            # other on the one payment record (some return too little to take back a credit).
            burst = clock + unit * 2 * rng.random()
            for _ in range(rng.randint(3, 6)):
                partial = rng.randint(1, 30)
                clock += unit * 0.2 * rng.random()
                previous = self.add("refund", account, clock, previous, amount_minor=partial)
                payment.reversed_minor += partial
                self.add("deliver", account, max(burst, clock), previous, event=0)
            return
        for _ in range(rng.choice((1, 1, 2, 3))):
            remaining = payment.amount_minor - payment.reversed_minor
            if remaining <= 0:
                break
            clock += unit * rng.random()
            choice = rng.random()
            if choice < 0.25:
                previous = self.add("dispute", account, clock, previous)
                payment.reversed_minor += remaining
            elif choice < 0.6:
                previous = self.add("refund", account, clock, previous, amount_minor=None)
                payment.reversed_minor += remaining
            else:
                partial = rng.randint(1, remaining)
                previous = self.add("refund", account, clock, previous, amount_minor=partial)
                payment.reversed_minor += partial
            made = self.deliveries(previous, 1, clock, unit * 3)
            first_delivery = first_delivery or min(made, key=lambda draft: draft.at)
        if first_delivery is not None and provider != "paypal" and rng.random() < 0.5:
            # The refund overtakes the purchase: every event of the payment arrives after it.
            for delivery in payment_deliveries:
                delivery.at = max(delivery.at, first_delivery.at + unit * rng.random())

    def job(self, account: int, start: float, unit: float) -> None:
        rng = self.rng
        outcome = rng.choices(("succeed", "fail", "slow"), weights=(55, 20, 25))[0]
        key = f"chaos-{self.references}" if rng.random() < 0.3 else None
        self.references += 1
        submit = self.add("submit_job", account, start, outcome=outcome, idempotency_key=key)
        if key is not None:  # the client did not see the answer and sends the same request again
            self.add("submit_job", account, start + unit * 0.2 * rng.random(), submit, replay=True)
        if rng.random() < (0.7 if outcome == "slow" else 0.3):
            self.add("cancel_job", account, start + unit * rng.random(), submit)

    def burst(self, account: int, start: float, unit: float) -> None:
        """Several jobs submitted at the same moment (past the in-flight limit now and then), with
        the cap changed at that moment too."""
        for _ in range(self.rng.randint(3, 7)):
            outcome = self.rng.choices(("succeed", "fail", "slow"), weights=(60, 15, 25))[0]
            self.add("submit_job", account, start, outcome=outcome, idempotency_key=None)
        if self.accounts[account].fixed_cap is None and self.rng.random() < 0.5:
            self.add("spend_cap", account, start, cap=self.rng.choice(CAP_CHOICES))

    def debt(self, account: int, start: float, unit: float) -> None:
        """Credits bought and spent, then the purchase refunded in full (the balance goes below zero
        and the account is restricted) while another purchase's events arrive at the same moment;
        then what was held is settled or released."""
        rng = self.rng
        provider = rng.choice(("stripe", "creem"))
        credits, amount = CATALOG["pack_studio"]
        first = PlannedPayment(account, credits, amount)
        pay = self.add("pay", account, start, provider=provider, item="pack_studio")
        granting = self.add("deliver", account, start + unit * 0.1, pay, event=0)
        self.deliveries(pay, EVENTS_ISSUED[(provider, "pack", "pay")], start + unit * 0.1, unit)
        reference = f"debt_{self.references}"
        self.references += 1
        spent = self.add("hold", account, start + unit * 0.3, granting, cost=credits - 50, reference=reference)
        refund = self.add("refund", account, start + unit * 0.5, pay, amount_minor=None)
        first.reversed_minor = amount
        clash = start + unit * (0.6 + 0.2 * rng.random())
        self.add("deliver", account, clash, refund, event=0)
        second_provider = rng.choice(("stripe", "creem"))
        second = self.add("pay", account, start + unit * 0.55, provider=second_provider, item="pack_starter")
        for event in range(EVENTS_ISSUED[(second_provider, "pack", "pay")]):
            self.add("deliver", account, clash, second, event=event)
        self.add(rng.choice(("settle", "release")), account, clash + unit * rng.random(), spent, actual=credits - 50)
        self.accounts[account].payments += [first, PlannedPayment(account, *CATALOG["pack_starter"])]

    def direct_hold(self, account: int, start: float, unit: float) -> None:
        """A hold closed by the wallet use cases themselves: a step no HTTP route reaches."""
        rng = self.rng
        cost = rng.randint(1, 5)
        reference = f"direct_{self.references}"
        self.references += 1
        hold = self.add("hold", account, start, cost=cost, reference=reference)
        close = start + unit * rng.random()
        settle_first = rng.random() < 0.6
        closes = ["settle", "release"] if settle_first else ["release", "settle"]
        if rng.random() >= 0.3:
            closes = closes[:1]
        for kind in closes:  # a second close, at the same moment, races the first
            self.add(kind, account, close, hold, actual=rng.randint(0, cost))


def make_plan(seed: int, accounts: int, operations: int, fixed_cap_share: float = 0.2) -> Plan:
    """A plan of about `operations` operations over `accounts` accounts, entirely from the seed."""
    rng = random.Random(seed)
    account_plans = [
        AccountPlan(
            index=index,
            initial_credits=rng.choice(INITIAL_CREDITS),
            fixed_cap=rng.choice(FIXED_CAPS) if rng.random() < fixed_cap_share else None,
        )
        for index in range(accounts)
    ]
    planner = _Planner(rng, account_plans)

    def spend_cap(account: int, start: float, unit: float) -> None:
        if account_plans[account].fixed_cap is None:
            planner.add("spend_cap", account, start, cap=rng.choice(CAP_CHOICES))
        else:  # its cap stays as it was set; a look at the balance checks the spend against it
            planner.add("balance", account, start)

    def balance(account: int, start: float, unit: float) -> None:
        planner.add("balance", account, start)

    stories: list[tuple[Callable[[int, float, float], None], int]] = [
        (planner.purchase, 30),
        (planner.job, 35),
        (planner.burst, 4),
        (planner.debt, 4),
        (planner.direct_hold, 15),
        (spend_cap, 8),
        (balance, 7),
    ]
    actions, weights = zip(*stories, strict=True)
    while len(planner.drafts) < operations:
        story = rng.choices(actions, weights)[0]
        # A story spans a few percent of the run: its steps interleave with many others'.
        story(rng.randrange(accounts), rng.random(), rng.uniform(0.002, 0.03))
    ordered = sorted(planner.drafts, key=lambda draft: draft.at)
    # A producer always comes before what it produced, whatever the times say.
    position: dict[int, int] = {}
    ops: list[Op] = []
    pending = list(ordered)
    while pending:
        waiting = []
        for draft in pending:
            if draft.after is not None and id(draft.after) not in position:
                waiting.append(draft)
                continue
            position[id(draft)] = len(ops)
            after = position[id(draft.after)] if draft.after is not None else None
            ops.append(Op(len(ops), draft.kind, draft.account, after, draft.args))
        pending = waiting
    return Plan(seed, account_plans, ops)


# ------------------------------------------------------------------------------------------
# Running it.
# ------------------------------------------------------------------------------------------
@dataclass
class Participant:
    """One account of the run, with a session the API accepts."""

    account_id: str
    ledger_id: str
    session_token: str


@dataclass
class Delivery:
    url_path: str
    headers: dict[str, str]
    body: str
    provider: str
    type: str


class Unexpected(Exception):
    """An answer the platform must never give (a 5xx, a transport error, a status off contract)."""


class ChaosRun:
    def __init__(self, stack: LocalRuntime, plan: Plan, participants: list[Participant], workers: int) -> None:
        self.stack = stack
        self.plan = plan
        self.participants = participants
        self.workers = workers
        self.http = httpx.Client(
            base_url=stack.api_url,
            timeout=120,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers * 2),
        )
        self.wallets = WalletRepository()
        self.lock = threading.Lock()
        self.futures: dict[int, Future[Any]] = {}
        self.statuses: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.retry_later: list[Delivery] = []
        self.paypal_checkouts: list[str] = []
        self.jobs: dict[int, list[str]] = defaultdict(list)
        # Per account: credits charged by direct settlements, and holds that never closed.
        self.direct_charged: Counter[int] = Counter()
        self.direct_held: dict[str, tuple[int, int]] = {}
        self.cap_snapshots: list[str] = []
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall time spent in each kind of op
        self.month = month_of(datetime.now(UTC))

    def close(self) -> None:
        self.http.close()

    # -- HTTP ----------------------------------------------------------------------------------
    def call(
        self,
        label: str,
        method: str,
        path: str,
        *,
        account: int | None = None,
        expected: Iterable[int],
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if account is not None:
            headers["Cookie"] = f"__Host-session={self.participants[account].session_token}"
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                headers["Origin"] = self.stack.api_url
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            self.note_unexpected(f"{label}: {method} {path}: transport error {type(exc).__name__}: {exc}")
            raise Unexpected(label) from exc
        with self.lock:
            self.statuses[f"{label} {response.status_code}"] += 1
        if response.status_code not in set(expected):
            sent = {name: value for name, value in headers.items() if name != "Cookie"}
            self.note_unexpected(
                f"{label}: {method} {path} (headers {sent}, body {kwargs.get('json')}) answered "
                f"{response.status_code}: {response.text[:300]}"
            )
            raise Unexpected(label)
        return response

    def note_unexpected(self, what: str) -> None:
        with self.lock:
            self.unexpected.append(what)

    def sandbox(self, label: str, checkout_path: str, action: str, body: dict[str, Any] | None = None) -> Any:
        return self.call(
            label, "POST", f"{checkout_path}/{action}", params={"deliver": "false"}, json=body, expected={200}
        ).json()

    def deliver(self, delivery: Delivery) -> int:
        headers = dict(delivery.headers)
        if delivery.provider == "stripe":
            # Stripe signs every delivery attempt afresh (a signature older than five minutes is
            # refused); a long run delivers events issued minutes earlier.
            headers["Stripe-Signature"] = stripe_signature(delivery.body.encode())
        response = self.call(
            f"webhook {delivery.provider}",
            "POST",
            delivery.url_path,
            content=delivery.body.encode(),
            headers=headers,
            expected={200, *RETRYABLE_DELIVERY},
        )
        if response.status_code == 503 and response.json()["error"]["code"] != "payment_not_yet_known":
            self.note_unexpected(f"webhook {delivery.type}: 503 {response.text[:300]}")
        if response.status_code in RETRYABLE_DELIVERY:
            with self.lock:
                self.retry_later.append(delivery)
        return response.status_code

    # -- the operations ------------------------------------------------------------------------
    def run_op(self, op: Op) -> Any:
        needed = self.futures[op.after].result() if op.after is not None else None
        handler = getattr(self, f"_op_{op.kind}")
        started = time.perf_counter()
        try:
            return handler(op, needed)
        except Unexpected:
            return None
        except Exception as exc:  # anything else is a defect of the platform or of this harness
            self.note_unexpected(f"op {op.index} {op.kind}: {type(exc).__name__}: {exc}")
            return None
        finally:
            with self.lock:
                self.seconds[op.kind] += time.perf_counter() - started

    def _op_pay(self, op: Op, _: Any) -> dict[str, Any] | None:
        provider, item = op.args["provider"], op.args["item"]
        started = self.call(
            "checkout",
            "POST",
            "/v1/billing/checkout",
            account=op.account,
            json={"item_id": item, "provider": provider},
            expected={201},
        ).json()
        checkout = urlsplit(started["url"]).path
        answer = self.sandbox("sandbox pay", checkout, "pay")
        kind = "plan" if item in PLANS else "pack"
        events = [_delivery(event) for event in answer["events"]]
        if len(events) != EVENTS_ISSUED[(provider, kind, "pay")]:
            self.note_unexpected(f"op {op.index}: the sandbox issued {len(events)} events for {provider} {item}")
        if provider == "paypal":
            with self.lock:
                self.paypal_checkouts.append(checkout)
        return {"checkout": checkout, "events": events, "return_url": answer.get("return_url")}

    def _op_paypal_return(self, op: Op, paid: dict[str, Any] | None) -> dict[str, Any] | None:
        if paid is None:
            return None
        back = urlsplit(paid["return_url"])
        self.call("paypal return", "GET", f"{back.path}?{back.query}", expected={302})
        return {"checkout": paid["checkout"], "events": []}

    def _op_redeliver_capture(self, op: Op, returned: dict[str, Any] | None) -> None:
        if returned is None:
            return
        issued = self.call("sandbox events", "GET", f"{returned['checkout']}/events", expected={200}).json()
        for event in issued["events"]:
            if event["type"] == "PAYMENT.CAPTURE.COMPLETED":
                self.deliver(_delivery(event))

    def _producing(self, op: Op, previous: dict[str, Any] | None, action: str, body: Any = None) -> Any:
        if previous is None:
            return None
        answer = self.sandbox(f"sandbox {action}", previous["checkout"], action, body)
        return {"checkout": previous["checkout"], "events": [_delivery(event) for event in answer["events"]]}

    def _op_renew(self, op: Op, previous: dict[str, Any] | None) -> Any:
        return self._producing(op, previous, "renew")

    def _op_cancel_subscription(self, op: Op, previous: dict[str, Any] | None) -> Any:
        return self._producing(op, previous, "cancel-subscription")

    def _op_refund(self, op: Op, previous: dict[str, Any] | None) -> Any:
        amount = op.args["amount_minor"]
        return self._producing(op, previous, "refund", None if amount is None else {"amount_minor": amount})

    def _op_dispute(self, op: Op, previous: dict[str, Any] | None) -> Any:
        return self._producing(op, previous, "dispute")

    def _op_deliver(self, op: Op, produced: dict[str, Any] | None) -> None:
        if produced is None:
            return
        self.deliver(produced["events"][op.args["event"]])

    def _op_submit_job(self, op: Op, earlier: Any) -> dict[str, Any] | None:
        args = op.args
        if args.get("replay"):
            if earlier is None:
                return None
            args = earlier["args"]
        prompt = {"succeed": "a lighthouse", "fail": "a lighthouse [fail]", "slow": "a lighthouse [slow]"}
        headers = {"Idempotency-Key": args["idempotency_key"]} if args.get("idempotency_key") else {}
        response = self.call(
            "submit job",
            "POST",
            "/v1/jobs",
            account=op.account,
            json={
                "kind": "image",
                "model": IMAGE_MODEL,
                "prompt": f"{prompt[args['outcome']]} {args.get('idempotency_key') or op.index}",
                "params": IMAGE_PARAMS,
            },
            headers=headers,
            # 402 short of credits, 403 restricted by a clawback, 429 the cap or the limits; a replay
            # racing its original may be asked to retry (409).
            expected={202, 402, 403, 429} | ({409} if op.args.get("replay") else set()),
        )
        if response.status_code != 202:
            return None
        job_id = str(response.json()["id"])
        if op.args.get("replay"):
            if job_id != earlier["job_id"]:
                self.note_unexpected(f"op {op.index}: a replayed Idempotency-Key made job {job_id} too")
            return None
        with self.lock:
            self.jobs[op.account].append(job_id)
        return {"job_id": job_id, "args": args}

    def _op_cancel_job(self, op: Op, submitted: Any) -> None:
        if submitted is None:
            return
        self.call(
            "cancel job", "POST", f"/v1/jobs/{submitted['job_id']}/cancel", account=op.account, expected={200, 409}
        )

    def _op_spend_cap(self, op: Op, _: Any) -> None:
        self.call(
            "spend cap",
            "PUT",
            "/v1/billing/spend-cap",
            account=op.account,
            json={"monthly_credits": op.args["cap"]},
            expected={200},
        )

    def _op_balance(self, op: Op, _: Any) -> None:
        balance = self.call("balance", "GET", "/v1/billing/balance", account=op.account, expected={200}).json()
        fixed = self.plan.accounts[op.account].fixed_cap
        spent = balance["spend_cap"]["spent_this_month"]
        if balance["held_credits"] < 0:
            self.note_unexpected(f"op {op.index}: held credits are negative: {balance}")
        if fixed is not None and spent > fixed:
            with self.lock:
                self.cap_snapshots.append(f"account {op.account}: spent {spent} over its cap {fixed}: {balance}")

    def _direct(self, op: Op) -> tuple[str, str]:
        participant = self.participants[op.account]
        return participant.account_id, participant.ledger_id

    def _op_hold(self, op: Op, _: Any) -> dict[str, Any] | None:
        account_id, ledger_id = self._direct(op)
        cost, reference = op.args["cost"], op.args["reference"]
        try:
            self.wallets.hold(account_id, ledger_id, reference, cost, datetime.now(UTC), generation_kind="image")
        except (errors.InsufficientCreditsError, errors.SpendCapExceededError, errors.AccountRestrictedError) as exc:
            with self.lock:
                self.statuses[f"{reference.split('_')[0]} hold {exc.code}"] += 1
            return None
        with self.lock:
            self.statuses[f"{reference.split('_')[0]} hold held"] += 1
            self.direct_held[reference] = (op.account, cost)
        return {"reference": reference, "cost": cost}

    def _close(self, op: Op, held: dict[str, Any] | None, settle: bool) -> None:
        if held is None:
            return
        account_id, ledger_id = self._direct(op)
        now = datetime.now(UTC)
        reference = held["reference"]
        if settle:
            closed = self.wallets.settle(account_id, ledger_id, reference, op.args["actual"], now)
        else:
            closed = self.wallets.release(account_id, ledger_id, reference, now)
        with self.lock:
            self.statuses[f"direct {'settle' if settle else 'release'} {'closed' if closed else 'already closed'}"] += 1
            if closed:
                self.direct_held.pop(reference, None)
                if settle:
                    self.direct_charged[op.account] += min(op.args["actual"], held["cost"])

    def _op_settle(self, op: Op, held: dict[str, Any] | None) -> None:
        self._close(op, held, settle=True)

    def _op_release(self, op: Op, held: dict[str, Any] | None) -> None:
        self._close(op, held, settle=False)

    # -- the whole run -------------------------------------------------------------------------
    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="chaos") as pool:
            for op in self.plan.ops:
                self.futures[op.index] = pool.submit(self.run_op, op)
            for future in self.futures.values():
                future.result()

    def redeliver_refused(self) -> int:
        """Delivers again what was refused for now, as a provider does, until everything is accepted."""
        rounds = 0
        while self.retry_later and rounds < REDELIVERY_ROUNDS:
            rounds += 1
            with self.lock:
                batch, self.retry_later = self.retry_later, []
            random.Random(rounds).shuffle(batch)
            time.sleep(0.1 * rounds)
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(self._deliver_quietly, batch))
        for delivery in self.retry_later:
            self.note_unexpected(f"webhook {delivery.type} still refused after {rounds} rounds of redelivery")
        return rounds

    def _deliver_quietly(self, delivery: Delivery) -> None:
        with contextlib.suppress(Unexpected):  # already noted
            self.deliver(delivery)

    def wait_for_sandbox_deliveries(self, timeout: float = 60.0) -> None:
        """The sandbox sends PayPal's capture events in the background; waits until each was answered."""
        deadline = time.monotonic() + timeout
        for checkout in self.paypal_checkouts:
            while True:
                issued = self.http.get(f"{checkout}/events").json()["events"]
                # The refunds and disputes were issued undelivered, for this run to deliver itself.
                events = [event for event in issued if event["type"] == "PAYMENT.CAPTURE.COMPLETED"]
                statuses = [event["delivery_status"] for event in events]
                if all(status is not None for status in statuses):
                    for event, status in zip(events, statuses, strict=True):
                        if status != 200:
                            self.note_unexpected(f"the sandbox's own {event['type']} delivery was answered {status}")
                    break
                if time.monotonic() > deadline:
                    self.note_unexpected(f"the sandbox never delivered the events of {checkout}")
                    break
                time.sleep(0.2)


def enrol(stack: LocalRuntime, plan: Plan, workers: int) -> list[Participant]:
    """The plan's accounts, made through the real code: the account and its wallet, a session,
    the terms accepted over HTTP, the initial credits, and the fixed caps set over HTTP."""
    from atelier.services import get_services
    from atelier.usecases.open_session import open_session
    from tests.support.money import give_credits, new_account

    services = get_services()
    with httpx.Client(base_url=stack.api_url, timeout=120) as client:
        terms = client.get("/v1/policies/terms").json()["version"]

        def make(planned: AccountPlan) -> Participant:
            account = new_account()
            token, _ = open_session(
                account, sessions=services.sessions, clock=services.clock, settings=services.settings
            )
            headers = {"Cookie": f"__Host-session={token}", "Origin": stack.api_url}
            accepted = client.post("/v1/me/terms", json={"version": terms, "age_confirmed": True}, headers=headers)
            assert accepted.status_code == 200, accepted.text
            if planned.fixed_cap is not None:
                cap = {"monthly_credits": planned.fixed_cap}
                capped = client.put("/v1/billing/spend-cap", json=cap, headers=headers)
                assert capped.status_code == 200, capped.text
            if planned.initial_credits:
                give_credits(account, planned.initial_credits)
            return Participant(account.id, account.ledger_id, token)

        # The first one alone: every code path's first use (clients, connections) is then warm,
        # instead of being set up by several threads at once.
        first = make(plan.accounts[0])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return [first, *pool.map(make, plan.accounts[1:])]


def _delivery(event: dict[str, Any]) -> Delivery:
    return Delivery(
        url_path=urlsplit(event["url"]).path,
        headers=dict(event["headers"]),
        body=event["body"],
        provider=event["provider"],
        type=event["type"],
    )


def quiesce(stack: LocalRuntime, timeout: float = 180.0) -> None:
    """Waits until no generation message is left, runs the stuck-job sweep, and waits again."""
    stack.wait_until_queues_settle(timeout, consumers=["WorkerFunction"])
    assert stack.scheduler is not None
    sweep = next(
        schedule.name for schedule in stack.scheduler.schedules if schedule.name.endswith("sweep-overdue-jobs")
    )
    outcome = stack.scheduler.run_now(sweep)
    assert outcome["status"] == "succeeded", outcome
    stack.wait_until_queues_settle(timeout, consumers=["WorkerFunction"])


# ------------------------------------------------------------------------------------------
# The books the plan says must be left.
# ------------------------------------------------------------------------------------------
def books_summary(plan: Plan, run: ChaosRun, state: PlatformState) -> str:
    """How much money moved, and how many accounts ended in debt or restricted."""
    wallets = {item["PK"].removeprefix("ACCOUNT#"): item for item in state.entities("wallet")}
    ours = [wallets[participant.account_id] for participant in run.participants]
    return (
        f"{sum(len(account.payments) for account in plan.accounts)} payments granting "
        f"{sum(account.granted for account in plan.accounts)} credits, "
        f"{sum(account.clawed_back for account in plan.accounts)} clawed back "
        f"({sum(1 for account in plan.accounts if account.clawed_back)} accounts); at the end "
        f"{sum(1 for wallet in ours if int(wallet['balance']) < 0)} accounts below zero, "
        f"{sum(1 for wallet in ours if wallet.get('restricted'))} restricted, "
        f"{sum(len(jobs) for jobs in run.jobs.values())} jobs"
    )


GRANT_KINDS = {"purchase", "subscription_grant"}
REVERSAL_KINDS = {"refund", "dispute"}


def money_violations(plan: Plan, run: ChaosRun, state: PlatformState) -> list[str]:
    """Per account: credits granted == the distinct payments' credits, clawed back == what the
    refunds and disputes return, no payment granted twice, the balance explained to the credit, no
    negative balance but from a clawback (and then restricted), and no spend over a cap."""
    found: list[str] = []
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in state.ledger_items:
        if item.get("entity") == "ledger_entry":
            entries[item["ledger_id"]].append(item)
    records: Counter[str] = Counter(
        item["ledger_id"]
        for item in state.ledger_items
        if item.get("entity") == "payment_record" and item["provider"] != "test"  # "test": the initial credits
    )
    wallets = {item["PK"].removeprefix("ACCOUNT#"): item for item in state.entities("wallet")}
    charged_by_jobs: Counter[str] = Counter()
    for job in state.entities("job"):
        if job["status"] == "succeeded":
            charged_by_jobs[job["PK"].removeprefix("ACCOUNT#")] += int(job["charged_credits"])
    this_month = month_of(datetime.now(UTC))
    statuses = {item["PK"].removeprefix("ACCOUNT#"): item["status"] for item in state.entities("account")}

    for planned, participant in zip(plan.accounts, run.participants, strict=True):
        where = f"account {planned.index} ({participant.account_id})"
        ledger = entries[participant.ledger_id]
        by_kind: Counter[str] = Counter()
        for entry in ledger:
            by_kind[entry["kind"]] += int(entry["credits"])
        grants = [entry for entry in ledger if entry["kind"] in GRANT_KINDS]
        granted = sum(int(entry["credits"]) for entry in grants)
        clawed = -sum(by_kind[kind] for kind in REVERSAL_KINDS)
        if by_kind["adjustment"] != planned.initial_credits:
            found.append(f"{where}: adjustments {by_kind['adjustment']} != {planned.initial_credits} given")
        if granted != planned.granted:
            found.append(f"{where}: granted {granted} != {planned.granted}, the credits of its distinct payments")
        if len(grants) != len(planned.payments) or records[participant.ledger_id] != len(planned.payments):
            found.append(
                f"{where}: {len(grants)} grants and {records[participant.ledger_id]} payment records for "
                f"{len(planned.payments)} payments"
            )
        twice = [reference for reference, count in Counter(e["reference"] for e in grants).items() if count > 1]
        if twice:
            found.append(f"{where}: payments granted twice: {twice}")
        if clawed != planned.clawed_back:
            found.append(f"{where}: clawed back {clawed} != {planned.clawed_back} the refunds and disputes return")

        wallet = wallets.get(participant.account_id)
        if wallet is None:
            found.append(f"{where}: no wallet")
            continue
        balance = int(wallet["balance"])
        charged = charged_by_jobs[participant.account_id] + run.direct_charged[planned.index]
        expected = planned.initial_credits + planned.granted - planned.clawed_back - charged
        if balance != expected:
            found.append(
                f"{where}: balance {balance} != {planned.initial_credits} given + {planned.granted} granted - "
                f"{planned.clawed_back} clawed back - {charged} charged = {expected}"
            )
        if balance < 0 and (planned.clawed_back == 0 or balance < -planned.clawed_back):
            found.append(
                f"{where}: balance {balance} is negative beyond what clawbacks ({planned.clawed_back}) explain"
            )
        restricted = bool(wallet.get("restricted"))
        if balance < 0 and not restricted:
            found.append(f"{where}: balance {balance} is negative but the account is not restricted")
        if restricted and balance >= 0:
            found.append(f"{where}: restricted with a balance of {balance}: nothing is owed")
        status = statuses.get(participant.account_id)
        if (status == "restricted") != restricted:
            found.append(f"{where}: the account is {status} but its wallet says restricted={restricted}")

        cap = wallet.get("spend_cap")
        spent = int(wallet["spent_month"]) if wallet["spend_month"] == this_month else 0
        headroom = int(wallet["cap_headroom"])
        if wallet["spend_month"] == this_month == run.month:  # (a run across midnight on the 1st spans two months)
            # Without a cap the headroom is merely larger than any balance can be.
            if cap is None and headroom < NO_CAP_HEADROOM - spent:
                found.append(f"{where}: no cap, yet the headroom is only {headroom} (spent {spent})")
            if cap is not None and headroom != int(cap) - spent:
                found.append(f"{where}: cap headroom {headroom} != cap {cap} - spent {spent}")
            if spent != charged:
                found.append(f"{where}: spent this month {spent} != {charged} charged")
        if planned.fixed_cap is not None and (
            cap is None or int(cap) != planned.fixed_cap or spent > planned.fixed_cap
        ):
            found.append(f"{where}: spent {spent} against its fixed cap {planned.fixed_cap} (stored cap {cap})")
    for reference, (account, cost) in run.direct_held.items():
        found.append(f"account {account}: direct hold {reference} of {cost} never closed")
    return found + run.cap_snapshots
