"""OpenID Connect relying party: discovery, the authorization URL, the code exchange and ID-token
verification. Tokens are verified with PyJWT against the issuer's JWKS; no hand-written crypto."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from atelier import errors, tokens
from atelier.models.accounts import Identity
from atelier.settings import OidcProviderSettings

if TYPE_CHECKING:
    import httpx

# Asymmetric algorithms only: "none" and HMAC algorithms (which would accept a public key as the
# secret) are never accepted.
_ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
_METADATA_MAX_AGE_SECONDS = 3600
_CLOCK_SKEW_SECONDS = 60


class OidcProvider(Protocol):
    def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str, login_hint: str | None
    ) -> str: ...

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> str: ...

    def verify_id_token(self, id_token: str, *, nonce: str) -> Identity: ...


class OidcClient:
    def __init__(self, provider: OidcProviderSettings, client_secret: str, http: httpx.Client | None = None):
        self._provider = provider
        self._client_secret = client_secret
        self._http = http
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, dict[str, Any]] | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=3.0), follow_redirects=False)
        return self._http

    def _get_json(self, url: str) -> dict[str, Any]:
        import httpx

        try:
            response = self.http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.") from exc
        return document

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < _METADATA_MAX_AGE_SECONDS:
                return self._metadata[1]
        issuer = self._provider.issuer.rstrip("/")
        document = self._get_json(f"{issuer}/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != issuer:
            raise errors.DependencyUnavailableError("The identity provider's discovery document names another issuer.")
        with self._lock:
            self._metadata = (time.monotonic(), document)
        return document

    def _signing_keys(self, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            cached = self._jwks
        if cached and not refresh and time.monotonic() - cached[0] < _METADATA_MAX_AGE_SECONDS:
            return cached[1]
        document = self._get_json(self.metadata()["jwks_uri"])
        with self._lock:
            self._jwks = (time.monotonic(), document)
        return document

    def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str, login_hint: str | None
    ) -> str:
        parameters = {
            "response_type": "code",
            "client_id": self._provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": self._provider.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            parameters["login_hint"] = login_hint
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(parameters)}"

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> str:
        import httpx

        metadata = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        methods = metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        try:
            if "client_secret_basic" in methods:
                response = self.http.post(
                    metadata["token_endpoint"], data=form, auth=(self._provider.client_id, self._client_secret)
                )
            else:
                form |= {"client_id": self._provider.client_id, "client_secret": self._client_secret}
                response = self.http.post(metadata["token_endpoint"], data=form)
        except httpx.HTTPError as exc:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.") from exc
        if response.status_code >= 500:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.")
        if response.status_code != 200:
            # An invalid, expired or already used code: the provider says no.
            raise errors.SignInFailedError()
        try:
            id_token = response.json()["id_token"]
        except (ValueError, KeyError) as exc:
            raise errors.SignInFailedError() from exc
        return str(id_token)

    def verify_id_token(self, id_token: str, *, nonce: str) -> Identity:
        import jwt

        try:
            header = jwt.get_unverified_header(id_token)
            algorithm = header.get("alg")
            if algorithm not in _ACCEPTED_ALGORITHMS:
                raise errors.SignInFailedError()
            key = self._key_for(header.get("kid"))
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[algorithm],
                audience=self._provider.client_id,
                issuer=self.metadata()["issuer"],
                leeway=_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise errors.SignInFailedError() from exc
        if not tokens.same(str(claims.get("nonce", "")), nonce):
            raise errors.SignInFailedError()
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self._provider.client_id:
            raise errors.SignInFailedError()
        email = claims.get("email")
        if not email:
            raise errors.SignInFailedError("The identity provider did not share an email address.")
        return Identity(
            issuer=claims["iss"],
            subject=str(claims["sub"]),
            email=str(email),
            email_verified=bool(claims.get("email_verified", False)),
            name=str(claims.get("name") or ""),
            picture_url=claims.get("picture"),
        )

    def _key_for(self, key_id: str | None) -> Any:
        import jwt

        for refresh in (False, True):
            key_set = jwt.PyJWKSet.from_dict(self._signing_keys(refresh=refresh))
            for key in key_set.keys:
                if key.key_id == key_id:
                    return key.key
        raise errors.SignInFailedError()
