"""Bearer secrets: session tokens, API keys and share tokens. 256 random bits each; only their
SHA-256 is stored (they are high-entropy, so a slow hash would add nothing)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_TOKEN_PREFIX = "ats_"  # noqa: S105 - a prefix, not a secret
API_KEY_PREFIX = "atk_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
