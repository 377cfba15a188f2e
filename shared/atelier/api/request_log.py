"""One structured log line per request (P3): method, path template, status, latency, request id and
a truncated client address. Never a body, token, email, prompt or raw address."""

from __future__ import annotations

import ipaddress
from typing import Any

from atelier.observability import logger


def truncate_address(address: str | None) -> str | None:
    """Keeps the network, drops the host: /24 for IPv4, /48 for IPv6."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False).network_address)


def log_request(event: dict[str, Any], status: int, latency_ms: float) -> None:
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    logger.info(
        "request",
        extra={
            "http": {
                "method": event.get("httpMethod"),
                "route": event.get("resource"),
                "status": status,
                "latency_ms": round(latency_ms, 2),
                "request_id": context.get("requestId"),
                "client_network": truncate_address(identity.get("sourceIp")),
            }
        },
    )
