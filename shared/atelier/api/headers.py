"""Security headers added to every API response."""

from __future__ import annotations

BASE_SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# JSON answers are never rendered, so nothing may run or load in their context.
JSON_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

# Answers carry personal data more often than not: never let a shared cache keep them.
DEFAULT_CACHE_CONTROL = "no-store"


def secure(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """Adds the security headers a handler did not set itself (an HTML page sets its own CSP)."""
    present = {name.lower() for name in headers}
    for name, value in BASE_SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers[name] = [value]
    if "content-security-policy" not in present:
        headers["Content-Security-Policy"] = [JSON_CONTENT_SECURITY_POLICY]
    if "cache-control" not in present:
        headers["Cache-Control"] = [DEFAULT_CACHE_CONTROL]
    return headers
