"""A standards-compliant OpenID Connect issuer for the local runtime, mounted at ``/_local/oidc``.

Sign in as any email: with ``login_hint=<email>`` the authorization request is approved at once (so a
script can sign in); without it a small page asks for an email. Codes are single-use and short-lived,
bound to the client, redirect URI, nonce and PKCE challenge; ID tokens are RS256-signed with a key
made at start-up and published at the JWKS endpoint. The callback carries the RFC 9207 ``iss``
parameter, and client credentials in the Basic header are form-urlencoded (RFC 6749 2.3.1).

A second issuer, mounted at ``/_local/oidc-userinfo``, keeps every claim but ``sub`` out of the ID
token and serves them from UserInfo only, as panva's oidc-provider does by default (OIDC Core 5.4),
so the relying party's UserInfo path runs over HTTP. Never deployed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

PREFIX = "/_local/oidc"
USERINFO_ONLY_PREFIX = "/_local/oidc-userinfo"
LOCAL_PROVIDER = "local"
USERINFO_ONLY_PROVIDER = "local-userinfo"
CLIENT_ID = "atelier-local"
# A documented local-only secret: the issuer exists only inside the local runtime.
CLIENT_SECRET = "atelier-local-secret"  # noqa: S105
CODE_LIFETIME_SECONDS = 60
ID_TOKEN_LIFETIME_SECONDS = 300
# The claims a UserInfo-only issuer leaves out of its ID tokens.
PROFILE_CLAIMS = ("email", "email_verified", "name", "picture")


@dataclass(frozen=True)
class _PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    email: str
    expires_at: float


def subject_for(email: str) -> str:
    """A stable subject per email, as a real provider keeps one per person."""
    return "local-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


class LocalOidcIssuer:
    """``claims_in_userinfo_only`` keeps email, name and picture out of the ID token (UserInfo has
    them); ``user_info_overrides`` changes UserInfo's answer (a None value removes a claim), so a
    test can make it name another subject."""

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        prefix: str = PREFIX,
        claims_in_userinfo_only: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.prefix = prefix
        self.claims_in_userinfo_only = claims_in_userinfo_only
        self.user_info_overrides: dict[str, Any] = {}
        self.key_id = secrets.token_hex(8)
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._codes: dict[str, _PendingCode] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.allowed_redirect_uris: set[str] = set()

    # -- endpoints ---------------------------------------------------------------------------
    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.get("/.well-known/openid-configuration")(self.discovery)
        routes.get("/authorize")(self.authorize)
        routes.post("/authorize")(self.authorize)
        routes.post("/token")(self.token)
        routes.get("/jwks")(self.jwks)
        routes.get("/userinfo")(self.user_info)
        routes.post("/userinfo")(self.user_info)
        return routes

    def issuer_url(self, request: LocalRequest) -> str:
        return f"{request.base_url}{self.prefix}"

    def discovery(self, request: LocalRequest) -> LocalResponse:
        issuer = self.issuer_url(request)
        return LocalResponse.json(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "authorization_response_iss_parameter_supported": True,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified", "name", "picture", "nonce"],
            }
        )

    def jwks(self, _: LocalRequest) -> LocalResponse:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        return LocalResponse.json({"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "RS256"}]})

    def authorize(self, request: LocalRequest) -> LocalResponse:
        values = {name: items[0] for name, items in request.query.items()}
        if request.method == "POST":
            values |= request.form()
        problem = self._authorization_problem(values)
        if problem:
            return LocalResponse.error(400, "invalid_request", problem)
        email = (values.get("login_hint") or "").strip()
        if not email:
            return LocalResponse.html(_sign_in_page(values, self.prefix))
        if "@" not in email or len(email) > 254:
            return LocalResponse.html(_sign_in_page(values, self.prefix, error="Enter an email address."), status=400)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _PendingCode(
                client_id=values["client_id"],
                redirect_uri=values["redirect_uri"],
                nonce=values.get("nonce"),
                code_challenge=values["code_challenge"],
                email=email,
                expires_at=time.time() + CODE_LIFETIME_SECONDS,
            )
        answer = {"code": code, "state": values.get("state", ""), "iss": self.issuer_url(request)}
        return LocalResponse.redirect(f"{values['redirect_uri']}?{urlencode(answer)}")

    def _authorization_problem(self, values: dict[str, str]) -> str | None:
        if values.get("response_type") != "code":
            return "response_type must be code"
        if values.get("client_id") != self.client_id:
            return "unknown client_id"
        redirect_uri = values.get("redirect_uri", "")
        if self.allowed_redirect_uris and redirect_uri not in self.allowed_redirect_uris:
            return "redirect_uri is not registered"
        if not redirect_uri.startswith(("http://", "https://")):
            return "redirect_uri must be an absolute http(s) URL"
        if "openid" not in values.get("scope", "").split():
            return "scope must include openid"
        if values.get("code_challenge_method") != "S256" or not values.get("code_challenge"):
            return "PKCE with S256 is required"
        return None

    def token(self, request: LocalRequest) -> LocalResponse:
        form = request.form()
        client_id, client_secret = _client_credentials(request, form)
        if client_id != self.client_id or not secrets.compare_digest(client_secret or "", self.client_secret):
            return LocalResponse.json({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return LocalResponse.json({"error": "unsupported_grant_type"}, status=400)
        with self._lock:
            # Single use: the code is gone whether or not the rest checks out.
            pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or pending.expires_at < time.time():
            return LocalResponse.json({"error": "invalid_grant"}, status=400)
        if pending.client_id != client_id or pending.redirect_uri != form.get("redirect_uri"):
            return LocalResponse.json({"error": "invalid_grant"}, status=400)
        if _s256(form.get("code_verifier", "")) != pending.code_challenge:
            return LocalResponse.json({"error": "invalid_grant", "error_description": "PKCE check failed"}, status=400)
        withheld = dict.fromkeys(PROFILE_CLAIMS) if self.claims_in_userinfo_only else None
        id_token = self.sign_id_token(
            self.issuer_url(request), pending.email, nonce=pending.nonce, extra_claims=withheld
        )
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = (pending.email, time.time() + ID_TOKEN_LIFETIME_SECONDS)
        return LocalResponse.json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": ID_TOKEN_LIFETIME_SECONDS,
                "id_token": id_token,
            },
            headers=[("Cache-Control", "no-store")],
        )

    def user_info(self, request: LocalRequest) -> LocalResponse:
        """OIDC Core 5.3: the claims about the person the bearer access token was issued for."""
        authorization = request.header("authorization") or ""
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        with self._lock:
            found = self._access_tokens.get(token)
        if found is None or found[1] < time.time():
            return LocalResponse.json(
                {"error": "invalid_token"}, status=401, headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')]
            )
        claims = self.profile_claims(found[0])
        for name, value in self.user_info_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return LocalResponse.json(claims)

    # -- tokens ------------------------------------------------------------------------------
    @staticmethod
    def profile_claims(email: str) -> dict[str, Any]:
        local_part = email.split("@", 1)[0]
        return {
            "sub": subject_for(email),
            "email": email,
            "email_verified": True,
            "name": local_part.replace(".", " ").title(),
        }

    def sign_id_token(
        self, issuer: str, email: str, *, nonce: str | None, extra_claims: dict[str, Any] | None = None
    ) -> str:
        """An ID token; `extra_claims` override the standard ones (a None value removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": self.client_id,
            **self.profile_claims(email),
            "iat": now,
            "auth_time": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _client_credentials(request: LocalRequest, form: dict[str, str]) -> tuple[str | None, str | None]:
    authorization = request.header("authorization") or ""
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except ValueError:
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        # RFC 6749 2.3.1: each part was form-urlencoded before it was joined.
        return unquote_plus(client_id), unquote_plus(client_secret)
    return form.get("client_id"), form.get("client_secret")


def _sign_in_page(values: dict[str, str], prefix: str, error: str = "") -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in values.items()
        if name != "login_hint"
    )
    notice = f'<p role="alert" style="color:#b00">{html.escape(error)}</p>' if error else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in (local)</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">'
        "<h1>Sign in to Atelier</h1>"
        "<p>This is the local identity provider: sign in as any email address.</p>"
        f"{notice}"
        f'<form method="post" action="{html.escape(prefix)}/authorize">{hidden}'
        '<label for="email">Email</label><br>'
        '<input id="email" name="login_hint" type="email" required autofocus '
        'style="width:100%;padding:.5rem;margin:.5rem 0" placeholder="you@example.com">'
        '<button type="submit" style="padding:.5rem 1rem">Continue</button></form></body></html>'
    )


LOCAL_PROVIDERS = {PREFIX: LOCAL_PROVIDER, USERINFO_ONLY_PREFIX: USERINFO_ONLY_PROVIDER}


def configured_providers(providers_json: str | None) -> dict[str, Any]:
    """The providers a deployment-style ``OidcProviders`` parameter names, checked before start-up."""
    if not providers_json or not providers_json.strip():
        return {}
    try:
        providers = json.loads(providers_json)
    except ValueError as exc:
        raise ValueError(f"OidcProviders is not JSON: {exc}") from exc
    if not isinstance(providers, dict) or not all(isinstance(value, dict) for value in providers.values()):
        raise ValueError('OidcProviders must be a JSON object of providers: {"name": {"issuer": ..., ...}}')
    taken = sorted(set(providers) & set(LOCAL_PROVIDERS.values()))
    if taken:
        raise ValueError(f"OidcProviders: the names {', '.join(taken)} belong to the local issuers; choose others")
    return providers


def local_oidc_environment(base_url: str, configured: dict[str, Any] | None = None) -> dict[str, str]:
    """The settings that point Atelier's sign-in at the local issuers, beside any configured ones."""
    local = {
        name: {"issuer": f"{base_url}{prefix}", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        for prefix, name in LOCAL_PROVIDERS.items()
    }
    return {"OIDC_PROVIDERS": json.dumps({**(configured or {}), **local}), "OIDC_DEFAULT_PROVIDER": LOCAL_PROVIDER}


def oidc_stand_ins(providers_json: str | None = None) -> list[StandIn]:
    """The two local issuers. ``providers_json`` (the ``OidcProviders`` parameter, when given) names
    real providers that sit beside them; the template's default is not used locally."""
    configured = configured_providers(providers_json)
    issuers = [
        LocalOidcIssuer(),
        LocalOidcIssuer(prefix=USERINFO_ONLY_PREFIX, claims_in_userinfo_only=True),
    ]

    def environment(base_url: str) -> dict[str, str]:
        # Registered like a real client registration: only Atelier's own callback may receive codes.
        for issuer in issuers:
            issuer.allowed_redirect_uris = {f"{base_url}/v1/auth/callback"}
        return local_oidc_environment(base_url, configured)

    return [
        StandIn(PREFIX, issuers[0].routes(), "OpenID Connect issuer: sign in as any email", environment),
        StandIn(
            USERINFO_ONLY_PREFIX,
            issuers[1].routes(),
            f"the same, claims only from UserInfo (?provider={USERINFO_ONLY_PROVIDER})",
        ),
    ]
