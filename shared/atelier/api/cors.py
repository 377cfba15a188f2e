"""CORS for studios hosted on another origin (the `WebOrigins` parameter).

The studio served by the same CloudFront distribution needs none of this. An origin listed in
WEB_ORIGINS gets credentialed CORS: its preflight is answered with that exact origin, credentials
allowed and the headers the API reads; its real requests' answers name it too. Any other origin gets
no Access-Control-Allow-Origin at all, so a browser keeps both the preflight and the answer from it.
Every answer carries `Vary: Origin`, so no cache hands one origin's answer to another.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Workspace-Id", "Cancel-After")
# Headers of an answer a cross-origin script may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("Retry-After", "Location")
PREFLIGHT_MAX_AGE_SECONDS = 600


def request_origin(headers: Mapping[str, str] | None) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "origin":
            return value
    return None


def is_preflight(method: str) -> bool:
    """Every OPTIONS request is answered as a preflight: no route serves OPTIONS, and the answer
    names an origin only when it is allowed (a bare OPTIONS gets a 204 and `Vary` alone)."""
    return method.upper() == "OPTIONS"


def preflight_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The headers of a preflight's answer: nothing but `Vary` for an origin not allowed."""
    if origin is None or origin not in allowed:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        "Vary": "Origin",
    }


def response_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The CORS headers of an ordinary answer."""
    if origin is None or origin not in allowed:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
        "Vary": "Origin",
    }
