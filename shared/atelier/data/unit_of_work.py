"""One write transaction made of typed steps from any repository: all of it happens, or none.

Each repository offers the writes a use case may put in a unit of work as `Step`s: what they
write, and the domain error that the failure of their conditions means. When the transaction is
refused, the unit raises the error of the first refused step, in the order the steps were added,
so a use case says which refusal wins by the order it adds them in. A step without an error of its
own (one its owner reads itself, as a wallet's) makes the unit raise `Refused`, with every
condition that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError

from atelier.data.base import Transaction, transaction, translate_errors


@dataclass(frozen=True)
class Step:
    """Writes for a unit of work. `write` labels each of its operations with `label`; `refused`
    makes the domain error a failed condition of them means (None: the step's owner reads it)."""

    label: str
    write: Callable[[Transaction], None]
    refused: Callable[[], Exception] | None = None


class Refused(Exception):
    """A step without an error of its own was refused: `failures` maps each refused step's label
    to the reason DynamoDB gave (the item as it was, where asked for)."""

    def __init__(self, failures: dict[str, Any]) -> None:
        super().__init__(sorted(failures))
        self.failures = failures


class UnitOfWork:
    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self.steps: list[Step] = list(steps)

    def add(self, *steps: Step) -> UnitOfWork:
        self.steps.extend(steps)
        return self

    def commit(self) -> None:
        tx = transaction()
        try:
            with translate_errors(), tx:
                for step in self.steps:
                    step.write(tx)
        except TransactWriteError as exc:
            refused = refusal(self.steps, tx.failures(exc))
            if refused is None:
                raise
            raise refused from exc


def refusal(steps: Iterable[Step], failures: dict[str, Any]) -> Exception | None:
    """What a unit of `steps` raises when the conditions labelled in `failures` failed: the domain
    error of the first refused step, in the order added, or `Refused` with every failure when that
    step has no error of its own; None when no step's label was refused. Apart from the
    transaction, so a unit of work kept in memory (the domain tests') refuses the same way."""
    first = next((step for step in steps if step.label in failures), None)
    if first is None:
        return None
    if first.refused is not None:
        return first.refused()
    return Refused(failures)
