"""The invariant checker the fault, chaos and load suites rely on catches each kind of broken
promise, and passes a state that keeps them all."""

from __future__ import annotations

from typing import Any

from tests.support.invariants import PlatformState, violations

ACCOUNT = "ACCOUNT#acc_1"


def _state(
    *,
    wallet: dict[str, Any] | None = None,
    holds: list[dict[str, Any]] | None = None,
    jobs: list[dict[str, Any]] | None = None,
    ledger: list[int] | None = None,
    objects: list[str] | None = None,
    emails: list[dict[str, Any]] | None = None,
) -> PlatformState:
    wallet_item = {
        "PK": ACCOUNT,
        "SK": "WALLET",
        "entity": "wallet",
        "ledger_id": "led_1",
        "balance": 90,
        "held": 0,
        "jobs_in_flight": 0,
    } | (wallet or {})
    main = [
        wallet_item,
        *(holds or []),
        *(jobs or []),
        {"PK": ACCOUNT, "SK": "ASSET#a", "entity": "asset", "object_key": "accounts/acc_1/outputs/job_1/0.png"},
    ]
    ledger_items = [
        {"ledger_id": "led_1", "entry_id": f"ENTRY#{index}", "entity": "ledger_entry", "credits": credits}
        for index, credits in enumerate(ledger if ledger is not None else [100, -10, 0])
    ]
    return PlatformState(
        main_items=main,
        ledger_items=ledger_items,
        asset_object_keys=objects if objects is not None else ["accounts/acc_1/outputs/job_1/0.png"],
        emails=emails or [],
    )


def _job(status: str) -> dict[str, Any]:
    return {"PK": ACCOUNT, "SK": "JOB#job_1", "entity": "job", "job_id": "job_1", "status": status}


def _hold(status: str, credits: int = 10) -> dict[str, Any]:
    return {
        "PK": ACCOUNT,
        "SK": "HOLD#job_1",
        "entity": "hold",
        "reference": "job_1",
        "status": status,
        "credits": credits,
    }


def test_a_consistent_state_has_no_violation():
    state = _state(jobs=[_job("succeeded")], holds=[_hold("settled")])
    assert violations(state) == []


def test_a_balance_that_differs_from_its_ledger_is_reported():
    found = violations(_state(wallet={"balance": 91}))
    assert found == [f"{ACCOUNT}: balance 91 != ledger sum 90"]


def test_held_credits_without_an_open_hold_are_reported():
    found = violations(_state(wallet={"held": 10, "balance": 80}, ledger=[100, -10, -10]))
    assert f"{ACCOUNT}: held 10 != open holds 0" in found


def test_a_job_left_running_and_its_open_hold_are_reported():
    found = violations(
        _state(
            wallet={"held": 10, "balance": 80, "jobs_in_flight": 1},
            ledger=[100, -10, -10],
            jobs=[_job("running")],
            holds=[_hold("held")],
        )
    )
    assert f"{ACCOUNT} job job_1: left running" in found
    assert f"{ACCOUNT}: hold job_1 still open" in found


def test_a_failed_job_that_was_charged_is_reported():
    found = violations(_state(jobs=[_job("failed")], holds=[_hold("settled")]))
    assert found == [f"{ACCOUNT} job job_1: failed but its hold is settled"]


def test_an_object_no_record_refers_to_is_an_orphan():
    keys = ["accounts/acc_1/outputs/job_1/0.png", "accounts/acc_1/outputs/job_2/0.png"]
    assert violations(_state(objects=keys)) == ["orphan object accounts/acc_1/outputs/job_2/0.png"]


def test_the_same_email_sent_twice_is_reported():
    receipt = {"to": "a@example.com", "subject": "Your receipt", "text": "100 credits", "kind": "receipt"}
    found = violations(_state(emails=[receipt, dict(receipt)]))
    assert found == ["sent 2 times to a@example.com: 'Your receipt'"]
