"""Every DynamoDB key string, built in one place. The item types are documented above MainTable in
template.yaml; keep the two in step."""

from __future__ import annotations

ACCOUNT = "ACCOUNT#"


def account_pk(account_id: str) -> str:
    return f"{ACCOUNT}{account_id}"


def rate_counter_pk(scope: str, subject: str) -> str:
    """A fixed-window rate counter: `scope` names the limit, `subject` whom it counts (hashed)."""
    return f"RATE#{scope}#{subject}"


def rate_window_sk(window_start: int) -> str:
    return f"WINDOW#{window_start:012d}"
