"""What the callback routes and the adapters share to trust a provider's callback: the token in a
callback URL for providers that do not sign, the job id a body names, and URL helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from urllib.parse import quote, urlencode, urlsplit

from atelier.integrations.inference.base import CallbackSignatureError


def path_segment(value: str) -> str:
    """A provider id made safe to put in a URL path."""
    return quote(value, safe="")


def callback_token(key: str, provider: str, job_id: str) -> str:
    """Authenticates a callback URL for providers that do not sign their callbacks: an HMAC of our
    job id keyed with our API key at that provider (which only the provider and we know)."""
    return hmac.new(key.encode(), f"{provider}-callback:{job_id}".encode(), hashlib.sha256).hexdigest()[:32]


def tokened_callback_url(url: str, key: str, provider: str, job_id: str, **extra: str) -> str:
    """The callback URL with the job, any extra fields the callback cannot tell, and the token."""
    query = {"job": job_id, **extra, "token": callback_token(key, provider, job_id)}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


def verify_callback_token(query: Mapping[str, str] | None, key: Callable[[], str], provider: str) -> None:
    """Raises CallbackSignatureError unless the query carries the token of the job it names (the
    key is read only for a callback that has a token to check)."""
    job_id = (query or {}).get("job", "")
    token = (query or {}).get("token", "")
    if not job_id or not token or not hmac.compare_digest(token, callback_token(key(), provider, job_id)):
        raise CallbackSignatureError()


def callback_id(raw_body: bytes, field: str = "id") -> str:
    """The provider's job id a callback body names (CallbackSignatureError when it names none)."""
    try:
        value = json.loads(raw_body).get(field)
    except (ValueError, AttributeError) as exc:
        raise CallbackSignatureError("The callback names no job.") from exc
    if not isinstance(value, str) or not value or len(value) > 200:
        raise CallbackSignatureError("The callback names no job.")
    return value


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
