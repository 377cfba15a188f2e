"""What handlers read from a request: cookies, the bearer token, the client address, and the
principal behind it all."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from atelier.api.cookies import SESSION_COOKIE, WORKSPACE_COOKIE, parse_cookie_header
from atelier.models.accounts import Principal
from atelier.services import Services
from atelier.settings import Settings
from atelier.usecases.authenticate import authenticate, require_account_id


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    # Powertools' event headers are case-insensitive.
    value: str | None = event.headers.get(name)
    return value or None


def cookies(event: APIGatewayProxyEvent) -> dict[str, str]:
    values = [
        value
        for name, header_values in (event.multi_value_headers or {}).items()
        if name.lower() == "cookie"
        for value in header_values
    ]
    if not values and (single := header(event, "cookie")):
        values = [single]
    return parse_cookie_header(values)


def bearer_token(event: APIGatewayProxyEvent) -> str | None:
    """The bearer credential, "" when the header is there but empty or of another scheme."""
    authorization = header(event, "authorization")
    if authorization is None:
        return None
    scheme, _, credential = authorization.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The body exactly as sent, for signature checks: never re-serialised."""
    if event.body is None:
        return b""
    if event.is_base64_encoded:
        return base64.b64decode(event.body)
    return event.body.encode("utf-8")


def lower_case_headers(event: APIGatewayProxyEvent) -> dict[str, str]:
    return {name.lower(): value for name, value in (event.raw_event.get("headers") or {}).items()}


def client_address(event: APIGatewayProxyEvent) -> str:
    return event.request_context.identity.source_ip or "unknown"


def public_base_url(event: APIGatewayProxyEvent, settings: Settings) -> str:
    """Where clients reach the API: the configured base URL (a custom domain), else the host and
    stage API Gateway itself reports (never a client-supplied Host header)."""
    if settings.platform.api_base_url:
        return settings.platform.api_base_url.rstrip("/")
    context = event.request_context
    stage_prefix = context.path[: -len(event.path)] if context.path and context.path.endswith(event.path) else ""
    return f"https://{context.domain_name}{stage_prefix}"


def callback_url(event: APIGatewayProxyEvent, settings: Settings) -> str:
    """The exact redirect URI registered with every identity provider."""
    return f"{public_base_url(event, settings)}/v1/auth/callback"


def allowed_origins(event: APIGatewayProxyEvent, settings: Settings) -> frozenset[str]:
    base = public_base_url(event, settings)
    scheme, _, rest = base.partition("://")
    return settings.platform.allowed_origins | {f"{scheme}://{rest.split('/', 1)[0]}"}


# The caller of the request being handled, once its route's access check has resolved it.
_resolved: ContextVar[tuple[APIGatewayProxyEvent, Principal] | None] = ContextVar("resolved_principal", default=None)


@contextmanager
def resolved(event: APIGatewayProxyEvent, caller: Principal) -> Iterator[None]:
    """Within this block, `principal(event, …)` answers `caller` without authenticating again."""
    token = _resolved.set((event, caller))
    try:
        yield
    finally:
        _resolved.reset(token)


def principal(event: APIGatewayProxyEvent, services: Services) -> Principal:
    known = _resolved.get()
    if known is not None and known[0] is event:
        return known[1]
    return authenticate(
        method=event.http_method,
        session_token=cookies(event).get(SESSION_COOKIE),
        bearer_token=bearer_token(event),
        origin=header(event, "origin"),
        allowed_origins=allowed_origins(event, services.settings),
        sessions=services.sessions,
        api_keys=services.api_keys,
        clock=services.clock,
        settings=services.settings,
    )


def signed_in_account_id(event: APIGatewayProxyEvent, services: Services) -> str:
    return require_account_id(principal(event, services))


def workspace_choice(event: APIGatewayProxyEvent) -> tuple[str | None, str | None]:
    """The active workspace as the request names it: (X-Workspace-Id header, __Host-workspace cookie)."""
    return header(event, "x-workspace-id"), cookies(event).get(WORKSPACE_COOKIE)


# The optional header that makes a retried submission safe (API.md): documented once, used by
# every route that accepts it.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        description="Any unique string (a UUID) per intended submission: retrying with the same key and body "
        "answers the job the first attempt made instead of making another; the same key with another body "
        "answers 409 `idempotency_key_reused`.",
        examples=["7d0f6c4e-2a1b-4c3d-9e8f-5a6b7c8d9e0f"],
    ),
]
