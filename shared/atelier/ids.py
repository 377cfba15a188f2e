"""Identifiers: a type prefix and a random, time-ordered body.

The body is 48 bits of milliseconds followed by 80 random bits in Crockford base32, so ids of one
kind sort by creation time (newest-first listings are a plain Query) while staying unguessable.
Secrets that grant access on their own (share links, session and API-key tokens) do not use these
ids: they come from `tokens`.
"""

from __future__ import annotations

import secrets
import time
from enum import StrEnum

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


class IdPrefix(StrEnum):
    ACCOUNT = "acct"
    JOB = "job"
    ASSET = "ast"
    WORKSPACE = "ws"
    WORKFLOW = "wf"
    WORKFLOW_VERSION = "wfv"
    SHARE = "shr"
    EXPORT = "exp"
    REPORT = "rpt"
    API_KEY = "key"
    SESSION = "ses"
    UPLOAD = "upl"
    CHECKOUT = "chk"
    LEDGER = "ldg"
    LEDGER_ENTRY = "le"
    EMAIL = "eml"
    REQUEST = "req"
    WEBHOOK_ENDPOINT = "whe"
    WEBHOOK_MESSAGE = "msg"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, remainder = divmod(value, 32)
        chars.append(_ALPHABET[remainder])
    return "".join(reversed(chars))


def new_id(prefix: IdPrefix, *, now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    body = (millis << 80) | secrets.randbits(80)
    return f"{prefix.value}_{_encode(body, 26)}"


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    head, _, body = value.partition("_")
    return head == prefix.value and len(body) == 26 and all(char in _ALPHABET for char in body)


def derived_id(prefix: IdPrefix, seed: str, *, now_ms: int) -> str:
    """An id of the usual shape whose random part is derived from `seed`: the same seed gives the
    same id, so a retried step (a job's outputs) writes the same items instead of new ones."""
    import hashlib

    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    return f"{prefix.value}_{_encode((now_ms << 80) | digest, 26)}"
