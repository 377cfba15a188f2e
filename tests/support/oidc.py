"""The local OIDC issuer behind an in-memory httpx transport, so the real OidcClient can be tested
without a server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from atelier.integrations.oidc import OidcClient
from atelier.settings import OidcProviderSettings
from local.oidc import CLIENT_ID, CLIENT_SECRET, PREFIX, LocalOidcIssuer
from local.standins import LocalRequest

# A loopback address: plain http is allowed only to an issuer on this machine, in local mode.
BASE_URL = "http://127.0.0.1:8799"
ISSUER = f"{BASE_URL}{PREFIX}"


def issuer_transport(issuer: LocalOidcIssuer) -> httpx.MockTransport:
    routes = issuer.routes()

    def handle(request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        local = LocalRequest(
            method=request.method,
            path=url.path,
            subpath=url.path[len(issuer.prefix) :],
            query=parse_qs(url.query),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.content,
            base_url=BASE_URL,
        )
        answer = routes(local)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    return httpx.MockTransport(handle)


def client_for(issuer: LocalOidcIssuer, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> OidcClient:
    settings = OidcProviderSettings(issuer=f"{BASE_URL}{issuer.prefix}", client_id=client_id, client_secret=secret)
    return OidcClient(settings, secret, http=httpx.Client(transport=issuer_transport(issuer)), allow_loopback_http=True)
