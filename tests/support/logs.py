"""Everything the platform logs during a block, formatted exactly as it would reach CloudWatch."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    service_logger = logging.getLogger("atelier")
    formatter = next((h.formatter for h in service_logger.handlers if h.formatter), None)
    handler = logging.StreamHandler(stream)
    if formatter is not None:
        handler.setFormatter(formatter)
    targets = [service_logger, logging.getLogger()]
    for target in targets:
        target.addHandler(handler)
    try:
        yield stream
    finally:
        for target in targets:
            target.removeHandler(handler)
