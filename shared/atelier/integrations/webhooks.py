"""Outbound webhooks on the wire: Standard Webhooks signatures, and the one HTTP request each
delivery attempt makes.

Signing follows the Standard Webhooks scheme (https://www.standardwebhooks.com): a secret is
``whsec_`` and base64 bytes; a signature is ``v1,`` and the base64 HMAC-SHA256, keyed by those bytes,
of ``{webhook-id}.{webhook-timestamp}.{body}``; during a secret rotation's overlap window the
``webhook-signature`` header carries one signature per secret, separated by spaces.

Posting is where a customer's URL turns into a request of ours, so it is kept narrow, like output
downloads (atelier.integrations.inference.media): ``https://`` only; the host is resolved at
connect time and every address must be public (never private, loopback or link-local), and the
connection goes to the address that was checked (the name is kept for TLS and the Host header), so
a DNS answer that changes between the check and the connection cannot point it elsewhere; redirects
are never followed; one timeout bounds the attempt. The local runtime alone may also post to
``http://127.0.0.1:<port>``, so a developer can test against a listener of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from atelier import errors
from atelier.integrations.inference.base import ProviderError
from atelier.integrations.inference.media import Resolver, _is_public, _looks_like_address, resolve_addresses

if TYPE_CHECKING:
    import httpx

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every Standard Webhooks secret carries
LOCAL_HOST = "127.0.0.1"
_SECRET_BYTES = 24


class WebhookAddressRefusedError(errors.ForbiddenError):
    """The endpoint's address is not one Atelier posts to (not https, or not a public address)."""

    code = "webhook_address_refused"
    default_message = "The endpoint's address is not a public https address."


class WebhookUnreachableError(errors.DependencyUnavailableError):
    code = "webhook_unreachable"
    default_message = "The endpoint could not be reached in time."


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(signing_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in signing_secrets)


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname == LOCAL_HOST and parts.port is not None


def url_problem(url: str, *, allow_local: bool) -> str | None:
    """Why an endpoint URL is refused when it is registered, or None. (Names are resolved, and the
    answers checked, again on every attempt.)"""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "The URL cannot be read."
    if allow_local and is_local_url(url):
        return None
    if parts.scheme != "https":
        return "Only https:// URLs are accepted."
    if not parts.hostname or parts.username or parts.password:
        return "The URL needs a host and no credentials."
    host = parts.hostname.lower()
    if _looks_like_address(host) and not _is_public(host):
        return "The URL points to a private address."
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "The URL points to a private host."
    return None


class WebhookSender:
    """Posts one delivery attempt and answers the response's status code (a redirect is answered,
    never followed). Raises WebhookAddressRefusedError before connecting anywhere not allowed, and
    WebhookUnreachableError when no answer comes in time."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        allow_local: bool = False,
        resolve: Resolver | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._allow_local = allow_local
        self._resolve = resolve or resolve_addresses
        self._http = http
        self._lock = threading.Lock()

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            with self._lock:
                if self._http is None:
                    self._http = httpx.Client(
                        timeout=httpx.Timeout(self._timeout), follow_redirects=False, trust_env=False
                    )
        return self._http

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        import httpx

        target, host_header, tls_name = self._pinned(url)
        request_headers = {**headers, "host": host_header}
        extensions = {"sni_hostname": tls_name} if tls_name else {}
        try:
            response = self.http.post(
                target,
                content=body,
                headers=request_headers,
                extensions=extensions,
                follow_redirects=False,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise WebhookUnreachableError(details={"reason": type(exc).__name__}) from exc
        return response.status_code

    def _pinned(self, url: str) -> tuple[str, str, str | None]:
        """(the URL with the checked address in place of the name, the Host header, the TLS name)."""
        if url_problem(url, allow_local=self._allow_local) is not None:
            raise WebhookAddressRefusedError()
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        host_header = parts.netloc.rsplit("@", 1)[-1]
        if self._allow_local and is_local_url(url):
            return url, host_header, None
        if _looks_like_address(host):
            addresses = [host.strip("[]")]
        else:
            try:
                addresses = list(self._resolve(host))
            except ProviderError as exc:
                raise WebhookUnreachableError("The endpoint's host could not be resolved.") from exc
        if not addresses or not all(_is_public(address) for address in addresses):
            raise WebhookAddressRefusedError()
        address = addresses[0].split("%", 1)[0]
        literal = f"[{address}]" if ":" in address else address
        netloc = literal + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return pinned, host_header, None if _looks_like_address(host) else host
