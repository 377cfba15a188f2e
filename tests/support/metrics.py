"""Reading the metrics a piece of code wrote: the CloudWatch embedded metric format (EMF) documents
Powertools prints to stdout, one JSON line each."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Written:
    name: str
    dimensions: dict[str, str]
    value: float
    unit: str


def written_metrics(output: str) -> list[Written]:
    """Every metric in the EMF documents among `output`'s lines (other lines are skipped)."""
    found = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: document[name] for names in directive["Dimensions"] for name in names}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                found.extend(Written(metric["Name"], dimensions, float(v), metric["Unit"]) for v in values)
    return found


def named(output: str, name: str) -> list[Written]:
    return [metric for metric in written_metrics(output) if metric.name == name]
