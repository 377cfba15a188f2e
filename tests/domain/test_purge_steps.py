"""The purge's steps as a table (atelier.usecases.purge_account.STEPS): their order, and when each
is recorded as done, so a purge stopped anywhere continues where it stopped without doing twice
what cannot be undone. Run over an in-memory record, no table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from atelier.models.accounts import AccountStatus
from atelier.models.privacy import DeletionState
from atelier.usecases import purge_account
from atelier.usecases.purge_account import PURGE_STEPS, STEPS, Purger, PurgeStep


def test_the_steps_run_in_the_order_the_promises_need():
    assert PURGE_STEPS == (
        "jobs", "access", "providers", "objects", "exports", "ledger", "partition", "farewell", "receipt",
    )  # fmt: skip
    # Nobody can act as the account before anything of it is deleted; its row goes last.
    assert PURGE_STEPS.index("access") < PURGE_STEPS.index("objects") < PURGE_STEPS.index("receipt")
    assert PURGE_STEPS[-1] == "receipt"
    assert {step.name: step.recorded for step in STEPS if step.recorded != "after"} == {
        "farewell": "before",
        "receipt": "never",
    }


class _Record:
    """What a purger writes down, in order, with the work done in between."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record_step(self, account_id: str, step: str, **changes: Any) -> None:
        self.events.append(("recorded", step, changes.get("provider_actions")))


def _purger(record: _Record) -> Purger:
    purger = Purger.__new__(Purger)  # only what _run_step touches
    purger.privacy = record  # type: ignore[assignment]
    purger.checkpoint = lambda name: record.events.append(("checkpoint", name))
    return purger


STATE = DeletionState(
    account_id="acct_1",
    status=AccountStatus.DELETION_SCHEDULED,
    ledger_id="led_1",
    identity_issuer="https://issuer",
    identity_subject="sub",
    requested_at=datetime(2026, 12, 1, tzinfo=UTC),
    purge_at=datetime(2026, 12, 4, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        ("after", ["work", ("checkpoint", "s"), ("recorded", "s", None)]),
        ("before", [("recorded", "s", None), "work", ("checkpoint", "s")]),
        ("never", ["work", ("checkpoint", "s")]),
    ],
)
def test_a_step_is_recorded_when_its_rule_says(recorded, expected):
    record = _Record()
    step = PurgeStep("s", lambda purger, state: record.events.append("work"), recorded=recorded)
    state = _purger(record)._run_step(step, STATE)
    assert record.events == expected
    assert state.steps_done == ["s"]


def test_the_provider_calls_still_owed_are_recorded_with_the_step():
    record = _Record()
    owed = [purge_account.ProviderAction(provider="stripe", action="delete_customer", object_id="cus_1")]
    state = _purger(record)._run_step(PurgeStep("providers", lambda purger, state: owed), STATE)
    assert record.events[-1] == ("recorded", "providers", owed)
    assert state.pending_provider_actions == owed
