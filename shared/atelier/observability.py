"""The one place that creates the logger, tracer and metrics every function uses.

X-Ray: every function runs with `Tracing: Active`, so Lambda records each invocation's segment
(initialisation, invocation, overhead) without any SDK. Subsegments for each AWS call need the
X-Ray SDK, whose recorder builds a botocore client when imported: about 0.4 s of cold start on
every function (see docs/decisions.md). The SDK is therefore loaded only when the
`XRAY_SDK_TRACING` setting is on; otherwise the tracer decorators run against a no-op provider.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class _NoopSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: list[Any], remote: bool = False) -> None:
        return None


class _NoopProvider(BaseProvider):
    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment]:
        yield _NoopSegment()

    @contextmanager
    def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment]:  # type: ignore[override]
        yield _NoopSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def _sdk_tracing_enabled() -> bool:
    # Read here rather than through Settings: the tracer exists before any settings are needed.
    return os.environ.get("XRAY_SDK_TRACING", "false").lower() in {"1", "true", "yes"}


logger = Logger(service="atelier")
metrics = Metrics(namespace="Atelier", service="atelier")
tracer = (
    Tracer(service="atelier")
    if _sdk_tracing_enabled()
    else Tracer(service="atelier", disabled=True, auto_patch=False, provider=_NoopProvider())
)
