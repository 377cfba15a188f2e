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


ACCOUNT_SK = "ACCOUNT"
SESSION_PREFIX = "SESSION#"
API_KEY_PREFIX = "APIKEY#"
WORKSPACE_PREFIX = "WORKSPACE#"
EMAIL_PREFIX = "EMAIL#"
POINTER_SK = "POINTER"
ACCOUNT_SHARDS = 16


def identity_pointer_pk(identity_hash: str) -> str:
    return f"IDENTITY#{identity_hash}"


def session_pointer_pk(token_hash: str) -> str:
    return f"SESSIONTOKEN#{token_hash}"


def api_key_pointer_pk(token_hash: str) -> str:
    return f"APIKEYTOKEN#{token_hash}"


def sign_in_state_pk(state_hash: str) -> str:
    return f"SIGNIN#{state_hash}"


def session_sk(session_id: str) -> str:
    return f"{SESSION_PREFIX}{session_id}"


def api_key_sk(api_key_id: str) -> str:
    return f"{API_KEY_PREFIX}{api_key_id}"


def workspace_sk(workspace_id: str) -> str:
    return f"{WORKSPACE_PREFIX}{workspace_id}"


def email_sk(email_id: str) -> str:
    return f"{EMAIL_PREFIX}{email_id}"


def account_shard_pk(account_id: str) -> str:
    """GSI1 partition listing every account, spread over shards so a fan-out (policy notices)
    reads them with parallel Queries instead of a Scan."""
    shard = sum(account_id.encode()) % ACCOUNT_SHARDS
    return f"ACCOUNTS#{shard:02d}"


def policy_pk(kind: str) -> str:
    return f"POLICY#{kind}"


def policy_version_sk(effective_at_iso: str, version: str) -> str:
    return f"VERSION#{effective_at_iso}#{version}"


WALLET_SK = "WALLET"
HOLD_PREFIX = "HOLD#"
CHECKOUT_PREFIX = "CHECKOUT#"
SUBSCRIPTION_PREFIX = "SUBSCRIPTION#"
LEDGER_ENTRY_PREFIX = "ENTRY#"
PAYMENT_PREFIX = "PAYMENT#"
REVERSAL_PREFIX = "REVERSAL#"


def hold_sk(reference: str) -> str:
    return f"{HOLD_PREFIX}{reference}"


def checkout_sk(checkout_id: str) -> str:
    return f"{CHECKOUT_PREFIX}{checkout_id}"


def subscription_sk(provider: str, subscription_id: str) -> str:
    return f"{SUBSCRIPTION_PREFIX}{provider}#{subscription_id}"


def inbox_pk(provider: str, event_id: str) -> str:
    return f"INBOX#{provider}#{event_id}"


# Ledger table keys (partition = the pseudonymous ledger id, or a payment reference pointer).
def ledger_entry_sk(entry_id: str) -> str:
    return f"{LEDGER_ENTRY_PREFIX}{entry_id}"


def payment_sk(provider: str, payment_key: str) -> str:
    return f"{PAYMENT_PREFIX}{provider}#{payment_key}"


def reversal_sk(provider: str, reversal_key: str) -> str:
    return f"{REVERSAL_PREFIX}{provider}#{reversal_key}"


def payment_ref_pk(provider: str, reference: str) -> str:
    return f"PAYREF#{provider}#{reference}"


JOB_PREFIX = "JOB#"
ASSET_PREFIX = "ASSET#"
UPLOAD_PREFIX = "UPLOAD#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
IN_FLIGHT_SHARDS = 8


def job_sk(job_id: str) -> str:
    return f"{JOB_PREFIX}{job_id}"


def asset_sk(asset_id: str) -> str:
    return f"{ASSET_PREFIX}{asset_id}"


def upload_sk(upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{upload_id}"


def idempotency_sk(key_hash: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key_hash}"


def provider_job_pk(provider: str, provider_job_id: str) -> str:
    return f"PROVIDERJOB#{provider}#{provider_job_id}"


def in_flight_pk(job_id: str) -> str:
    """GSI2 partition of unfinished jobs by deadline, spread over shards (the sweeper reads all)."""
    return f"INFLIGHT#{sum(job_id.encode()) % IN_FLIGHT_SHARDS}"


def in_flight_shards() -> list[str]:
    return [f"INFLIGHT#{shard}" for shard in range(IN_FLIGHT_SHARDS)]
