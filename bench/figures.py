"""What every benchmark hands to the report: rows of one table (figure, goal, result, verdict, how)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MET = "met"
MISSED = "MISSED"
PENDING = "pending"
INFO = "-"


@dataclass(frozen=True)
class Figure:
    """One row of docs/performance.md. `data` keeps the raw numbers for the cost model."""

    group: str
    figure: str
    goal: str
    result: str
    verdict: str
    how: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)


def verdict(value: float, limit: float) -> str:
    return MET if value <= limit else MISSED


def ratio_text(ratio: float, measured: str, baseline: str) -> str:
    return f"**{ratio:.2f}x** ({measured} vs {baseline})"


def pending(group: str, figure: str, goal: str, reason: str) -> Figure:
    return Figure(group, figure, goal, reason, PENDING, "")


def write(path: str | None, rows: list[Figure]) -> None:
    """Writes the rows as JSON for bench/report.py (nothing without a path)."""
    if not path:
        return
    import dataclasses
    import json

    with open(path, "w") as out:
        json.dump([dataclasses.asdict(row) for row in rows], out, indent=1, default=str)


def read(path: str) -> list[Figure]:
    import json

    with open(path) as source:
        return [Figure(**row) for row in json.load(source)]


@contextmanager
def silenced_stdout() -> Iterator[None]:
    """The handlers print their metrics (EMF) to stdout, at the file-descriptor level; only the
    figures are wanted there."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)
