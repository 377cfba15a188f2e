"""OpenID Connect relying party: discovery, the authorization URL, the RFC 9207 issuer check of the
callback, the code exchange, ID-token verification and, when the ID token carries no email (OIDC
Core 5.4 lets a provider keep claims to UserInfo in the code flow), the UserInfo request. Tokens
are verified with PyJWT against the issuer's JWKS; no hand-written crypto."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

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


@dataclass(frozen=True)
class ProviderTokens:
    """What the token endpoint answered: the ID token, and the access token UserInfo takes."""

    id_token: str
    access_token: str | None = None


# The claims taken from UserInfo when the ID token has no email; every other claim is the ID token's.
_PROFILE_CLAIMS = frozenset({"email", "email_verified", "name", "picture"})


def tokens_same_subject(found: Any, expected: str) -> bool:
    return isinstance(found, str) and tokens.same(found, expected)


class OidcProvider(Protocol):
    def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str, login_hint: str | None
    ) -> str: ...

    def check_response_issuer(self, issuer: str | None) -> None: ...

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> ProviderTokens: ...

    def identify(self, provider_tokens: ProviderTokens, *, nonce: str) -> Identity: ...


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_secure_url(url: str, *, allow_loopback_http: bool) -> None:
    """Only https; plain http only to this machine, and only where that is allowed (local mode)."""
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and allow_loopback_http and is_loopback_url(url)):
        return
    raise errors.DependencyUnavailableError("The identity provider must be reached over https.")


class OidcClient:
    """``allow_loopback_http`` lets an issuer on this machine answer over plain http (local mode);
    any other issuer, and every endpoint its discovery names, must be https."""

    def __init__(
        self,
        provider: OidcProviderSettings,
        client_secret: str,
        http: httpx.Client | None = None,
        *,
        allow_loopback_http: bool = False,
    ):
        self._provider = provider
        self._client_secret = client_secret
        self._http = http
        self._allow_loopback_http = allow_loopback_http
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, dict[str, Any]] | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=3.0), follow_redirects=False)
        return self._http

    def _endpoint(self, name: str) -> str:
        url = str(self.metadata().get(name) or "")
        if not url:
            raise errors.DependencyUnavailableError(f"The identity provider's discovery document names no {name}.")
        _require_secure_url(url, allow_loopback_http=self._allow_loopback_http)
        return url

    def _get_json(self, url: str) -> dict[str, Any]:
        import httpx

        _require_secure_url(url, allow_loopback_http=self._allow_loopback_http)
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
        document = self._get_json(self._endpoint("jwks_uri"))
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
        return f"{self._endpoint('authorization_endpoint')}?{urlencode(parameters)}"

    def check_response_issuer(self, issuer: str | None) -> None:
        """RFC 9207: the `iss` the callback carries names this provider (it defeats mix-up attacks);
        a provider that says it always sends one is refused when it is missing."""
        metadata = self.metadata()
        if issuer is None:
            if metadata.get("authorization_response_iss_parameter_supported") is True:
                raise errors.SignInFailedError()
            return
        if not tokens.same(issuer, str(metadata["issuer"])):
            raise errors.SignInFailedError()

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> ProviderTokens:
        import httpx

        metadata = self.metadata()
        token_endpoint = self._endpoint("token_endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        methods = metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        try:
            if "client_secret_basic" in methods:
                # RFC 6749 2.3.1: the id and secret are form-urlencoded before they are joined and
                # base64-encoded, so a secret holding `+`, `/`, `=` or `:` arrives as it is.
                credentials = (quote(self._provider.client_id, safe=""), quote(self._client_secret, safe=""))
                response = self.http.post(token_endpoint, data=form, auth=credentials)
            else:
                form |= {"client_id": self._provider.client_id, "client_secret": self._client_secret}
                response = self.http.post(token_endpoint, data=form)
        except httpx.HTTPError as exc:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.") from exc
        if response.status_code >= 500:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.")
        if response.status_code != 200:
            # An invalid, expired or already used code: the provider says no.
            raise errors.SignInFailedError()
        try:
            answer = response.json()
            id_token = answer["id_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.SignInFailedError() from exc
        access_token = answer.get("access_token")
        return ProviderTokens(id_token=str(id_token), access_token=str(access_token) if access_token else None)

    def identify(self, provider_tokens: ProviderTokens, *, nonce: str) -> Identity:
        """The person the verified ID token names; their email, name and picture from the ID token
        or, when it carries no email, from UserInfo (whose `sub` must be the ID token's)."""
        claims = self.verify_id_token(provider_tokens.id_token, nonce=nonce)
        profile = claims
        if not claims.get("email"):
            user_info = self._user_info(provider_tokens.access_token, subject=str(claims["sub"]))
            profile = claims | {name: user_info[name] for name in _PROFILE_CLAIMS if name in user_info}
        email = profile.get("email")
        if not email or not isinstance(email, str):
            raise errors.SignInFailedError("The identity provider did not share an email address.")
        picture = profile.get("picture")
        return Identity(
            issuer=claims["iss"],
            subject=str(claims["sub"]),
            email=email,
            # Some providers send the boolean as a string; anything else is "not verified".
            email_verified=profile.get("email_verified") in (True, "true"),
            name=str(profile.get("name") or ""),
            picture_url=picture if isinstance(picture, str) else None,
        )

    def _user_info(self, access_token: str | None, *, subject: str) -> dict[str, Any]:
        import httpx

        metadata = self.metadata()
        if not access_token or not metadata.get("userinfo_endpoint"):
            raise errors.SignInFailedError("The identity provider did not share an email address.")
        try:
            response = self.http.get(
                self._endpoint("userinfo_endpoint"),
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.") from exc
        if response.status_code >= 500:
            raise errors.DependencyUnavailableError("The identity provider is unavailable.")
        if response.status_code != 200:
            raise errors.SignInFailedError()
        try:
            document = response.json()
        except ValueError as exc:
            # A signed or encrypted UserInfo answer (application/jwt) is not asked for, so not read.
            raise errors.SignInFailedError() from exc
        # OIDC Core 5.3.2: UserInfo about anyone but the ID token's subject is not used.
        if not isinstance(document, dict) or not tokens_same_subject(document.get("sub"), subject):
            raise errors.SignInFailedError()
        return document

    def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times, nonce and azp check out."""
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
        # OIDC Core 3.1.3.7: an azp, when present, names this client; several audiences need one.
        if "azp" in claims and claims["azp"] != self._provider.client_id:
            raise errors.SignInFailedError()
        if len(audiences) > 1 and "azp" not in claims:
            raise errors.SignInFailedError()
        return dict(claims)

    def _key_for(self, key_id: str | None) -> Any:
        import jwt

        for refresh in (False, True):
            key_set = jwt.PyJWKSet.from_dict(self._signing_keys(refresh=refresh))
            for key in key_set.keys:
                if key.key_id == key_id:
                    return key.key
        raise errors.SignInFailedError()
