"""Auth: OpenID Connect sign-in and its callback, sign-out, and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api import cookies
from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import callback_url, client_address, signed_in_account_id
from atelier.api.requests import cookies as request_cookies
from atelier.api.requests import principal as request_principal
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.accounts import ApiKeyPage, ApiKeyResponse, CreateApiKeyRequest, CreatedApiKeyResponse
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.authenticate import require_account_id
from atelier.usecases.begin_sign_in import SAFE_REDIRECT_PATTERN, BeginSignInDeps, begin_sign_in
from atelier.usecases.complete_sign_in import CompleteSignInDeps, complete_sign_in
from atelier.usecases.create_api_key import CreateApiKeyDeps, create_api_key
from atelier.usecases.manage_api_keys import list_api_keys, revoke_api_key
from atelier.usecases.sign_out import sign_out, sign_out_everywhere

app = make_resolver()

ShortText = Annotated[str | None, Query(max_length=512)]
RedirectPath = Annotated[str | None, Query(max_length=512, pattern=SAFE_REDIRECT_PATTERN)]
# Which providers exist is configuration (OIDC_PROVIDERS); the schema says what a name looks like.
ProviderName = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]


@app.get(
    "/v1/auth/login",
    operation_id="signIn",
    description=(
        "Starts an OpenID Connect sign-in (code flow with state, nonce and PKCE S256): redirects "
        "the browser to the identity provider. `login_hint` is passed on."
    ),
    access=Access.public(),
    summary="Start signing in with an identity provider",
    tags=["auth"],
    responses=error_responses(422, 429, 503, success={302: "Redirect to the identity provider"}),
)
def login(redirect_to: RedirectPath = None, login_hint: ShortText = None, provider: ProviderName = None):
    services = get_services()
    name = provider or services.settings.sign_in.oidc_default_provider
    start = begin_sign_in(
        services.dependencies(BeginSignInDeps),
        provider_name=name,
        provider=services.oidc_provider(name),
        callback_url=callback_url(app.current_event, services.settings),
        redirect_to=redirect_to,
        login_hint=login_hint,
        client_address=client_address(app.current_event),
    )
    return Response(
        status_code=302,
        headers={"Location": start.authorization_url},
        cookies=[cookies.sign_in_cookie(start.browser_binding, services.settings.sign_in.sign_in_state_seconds)],
    )


@app.get(
    "/v1/auth/callback",
    operation_id="completeSignIn",
    description=(
        "Where the identity provider sends the browser back: checks state, nonce and PKCE, "
        "creates or finds the account, sets the `__Host-session` cookie and redirects to "
        "`redirect_to`."
    ),
    access=Access.public(),
    summary="Finish signing in (the identity provider redirects here)",
    tags=["auth"],
    responses=error_responses(400, 503, success={302: "Signed in; redirect to where sign-in started"}),
)
def callback(code: ShortText = None, state: ShortText = None, error: ShortText = None, iss: ShortText = None):
    services = get_services()
    result = complete_sign_in(
        services.dependencies(CompleteSignInDeps),
        code=code,
        state=state,
        provider_error=error,
        response_issuer=iss,
        browser_binding=request_cookies(app.current_event).get(cookies.SIGN_IN_COOKIE),
        callback_url=callback_url(app.current_event, services.settings),
    )
    logger.info("signed in", extra={"account_id": result.account.id, "new_account": result.created})
    return Response(
        status_code=302,
        headers={"Location": result.redirect_to},
        cookies=[
            cookies.session_cookie(result.session_token, services.settings.sign_in.session_absolute_seconds),
            cookies.cleared(cookies.SIGN_IN_COOKIE),
        ],
    )


@app.post(
    "/v1/auth/logout",
    operation_id="signOut",
    description="Ends this session and clears its cookie. Harmless without one.",
    access=Access.optional(),
    summary="End this session",
    tags=["auth"],
    responses=error_responses(success={204: "Signed out"}),
)
def logout():
    services = get_services()
    event = app.current_event
    sign_out(
        request_principal(event, services),
        request_cookies(event).get(cookies.SESSION_COOKIE),
        sessions=services.sessions,
    )
    return Response(status_code=204, cookies=[cookies.cleared(cookies.SESSION_COOKIE)])


@app.post(
    "/v1/auth/logout-all",
    operation_id="signOutEverywhere",
    description="Ends every session of the account, on every device; nothing else changes.",
    access=Access.session(),
    summary="End every session of the account",
    tags=["auth"],
    responses=error_responses(401, 403, success={204: "Every session ended"}),
)
def logout_all():
    services = get_services()
    account_id = require_account_id(request_principal(app.current_event, services))
    sign_out_everywhere(account_id, sessions=services.sessions)
    return Response(status_code=204, cookies=[cookies.cleared(cookies.SESSION_COOKIE)])


@app.post(
    "/v1/me/api-keys",
    operation_id="createApiKey",
    description=(
        "Creates an API key with the given scopes (by default `generate` and `library:read`). The"
        " key is in this answer only: store it. Needs a session."
    ),
    access=Access.session(),
    summary="Create an API key (shown once)",
    tags=["auth"],
    responses=error_responses(401, 403, 409, 429, success={201: "Created"}),
)
def create_key(body: CreateApiKeyRequest) -> Response[CreatedApiKeyResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    created = create_api_key(services.dependencies(CreateApiKeyDeps), account_id, body.name, body.scope_set())
    payload = CreatedApiKeyResponse(**ApiKeyResponse.of(created.api_key).model_dump(), key=created.key)
    return Response(status_code=201, content_type="application/json", body=payload)


@app.get(
    "/v1/me/api-keys",
    operation_id="listApiKeys",
    description=("The account's API keys, with their names and scopes; never the keys themselves. Needs a session."),
    access=Access.session(),
    summary="List API keys (never the keys themselves)",
    tags=["auth"],
    responses=error_responses(401),
)
def list_keys() -> ApiKeyPage:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return ApiKeyPage(items=[ApiKeyResponse.of(key) for key in list_api_keys(account_id, api_keys=services.api_keys)])


@app.delete(
    "/v1/me/api-keys/<api_key_id>",
    operation_id="revokeApiKey",
    description="Revokes an API key at once; requests with it answer 401 from then on. Needs a session.",
    access=Access.session(),
    summary="Revoke an API key",
    tags=["auth"],
    responses=error_responses(401, 403, 404, success={204: "Revoked"}),
)
def revoke_key(api_key_id: Annotated[str, Path(max_length=64)]):
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    revoke_api_key(account_id, api_key_id, api_keys=services.api_keys)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("auth", resolver=app)
