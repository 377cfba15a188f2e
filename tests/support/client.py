"""An HTTP client for the local runtime that behaves like a browser where it matters: it keeps the
`__Host-` cookies (which cookie jars refuse over plain http), sends the Origin header on unsafe
requests, and signs in through the local OIDC issuer."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ApiClient:
    def __init__(self, base_url: str, *, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []
        self.api_key = api_key

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        origin: str | None = "self",
    ) -> httpx.Response:
        sent = dict(headers or {})
        if self.cookies:
            sent.setdefault("Cookie", "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        if self.api_key:
            sent.setdefault("Authorization", f"Bearer {self.api_key}")
        if method.upper() in UNSAFE_METHODS and origin is not None:
            sent.setdefault("Origin", self.base_url if origin == "self" else origin)
        response = self.http.request(method, path, json=json, content=content, headers=sent)
        self.remember(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def begin_sign_in(self, email: str | None, redirect_to: str = "/", provider: str | None = None) -> httpx.Response:
        """Login, then the issuer's answer: a redirect to the callback (with login_hint) or a page."""
        query = {"redirect_to": redirect_to} | ({"login_hint": email} if email else {})
        query |= {"provider": provider} if provider else {}
        login = self.get(f"/v1/auth/login?{urlencode(query)}")
        assert login.status_code == 302, login.text
        return self.http.get(login.headers["location"])

    def sign_in(self, email: str, redirect_to: str = "/", provider: str | None = None) -> httpx.Response:
        approved = self.begin_sign_in(email, redirect_to, provider)
        assert approved.status_code == 302, approved.text
        return self.follow(approved.headers["location"])

    def follow(self, location: str) -> httpx.Response:
        target = urlsplit(location)
        path = target.path + (f"?{target.query}" if target.query else "")
        return self.get(path)


def signed_in(base_url: str, email: str) -> ApiClient:
    client = ApiClient(base_url)
    answer = client.sign_in(email)
    assert answer.status_code == 302, answer.text
    return client
