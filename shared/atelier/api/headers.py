"""Security headers added to every API response."""

from __future__ import annotations

from atelier.settings import Settings

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


def web_content_security_policy(settings: Settings) -> str:
    """The studio's policy (the distribution's response headers policy says the same): no inline
    script; media from this origin or a private item's presigned URL on the object store."""
    store = " ".join(_object_store_origins(settings))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {store}; media-src 'self' {store}; connect-src 'self' {store}; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _object_store_origins(settings: Settings) -> list[str]:
    endpoint = settings.platform.aws_endpoint_url_s3 or settings.platform.aws_endpoint_url
    if endpoint:
        return [endpoint.rstrip("/")]
    return [f"https://s3.{settings.platform.aws_region}.amazonaws.com", "https://s3.amazonaws.com"]


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
