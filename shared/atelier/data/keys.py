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
# The account's one pending change of email address (its confirmation token's hash, the new address).
EMAIL_CHANGE_SK = "EMAILCHANGE"
POINTER_SK = "POINTER"
ACCOUNT_SHARDS = 16


def identity_pointer_pk(identity_hash: str) -> str:
    return f"IDENTITY#{identity_hash}"


def suppression_pk(address_hash: str) -> str:
    """An address SES reported as bouncing or complaining: no email goes to it again."""
    return f"SUPPRESSION#{address_hash}"


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


UNMATCHED_PAYMENT_SK = "UNMATCHED"
UNMATCHED_PAYMENTS = "UNMATCHED_PAYMENTS"


def unmatched_payment_pk(provider: str, payment_key: str) -> str:
    return f"UNMATCHED#{provider}#{payment_key}"


def unmatched_payments_sk(received_at_ms: int, provider: str, payment_key: str) -> str:
    """Sort key on GSI1 under UNMATCHED_PAYMENTS: oldest first."""
    return f"{received_at_ms:015d}#{provider}#{payment_key}"


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


# What an account's unused reference uploads hold between them (count and declared bytes).
UPLOAD_QUOTA_SK = "UPLOADQUOTA"


def idempotency_sk(key_hash: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key_hash}"


def provider_job_pk(provider: str, provider_job_id: str) -> str:
    return f"PROVIDERJOB#{provider}#{provider_job_id}"


def in_flight_pk(job_id: str) -> str:
    """GSI2 partition of unfinished jobs by deadline, spread over shards (the sweeper reads all)."""
    return f"INFLIGHT#{sum(job_id.encode()) % IN_FLIGHT_SHARDS}"


def in_flight_shards() -> list[str]:
    return [f"INFLIGHT#{shard}" for shard in range(IN_FLIGHT_SHARDS)]


# Privacy: exports, the deletion countdown and purge, deletion receipts, the retention sweep.
EXPORT_PREFIX = "EXPORT#"
EXPORT_LOCK_SK = "EXPORTLOCK"
RECEIPT_SK = "RECEIPT"
PURGE_DUE = "PURGE_DUE"
PROVIDER_CLEANUP_DUE = "PROVIDER_CLEANUP_DUE"
EXPIRY_SHARDS = 8


def export_sk(export_id: str) -> str:
    return f"{EXPORT_PREFIX}{export_id}"


def due_sk(due_at_iso: str, subject: str) -> str:
    """GSI2 sort key of a time-ordered work list: due time, then whom it is about."""
    return f"{due_at_iso}#{subject}"


def deletion_receipt_pk(account_id_hash: str) -> str:
    return f"DELETION#{account_id_hash}"


def expiry_day_pk(day: str, pk: str) -> str:
    """GSI1 partition of log-like items expiring on `day` (yyyy-mm-dd), spread over shards by the
    item's own partition key so one busy day is not one hot index partition."""
    return f"EXPIRES#{day}#{sum(pk.encode()) % EXPIRY_SHARDS}"


def expiry_day_shards(day: str) -> list[str]:
    return [f"EXPIRES#{day}#{shard}" for shard in range(EXPIRY_SHARDS)]


def expiry_sk(expires_at: int) -> str:
    return f"{expires_at:012d}"


# Gallery, share links, workflows, reports and moderation, policy notices.
GALLERY_PREFIX = "GALLERY#"
SHARE_PREFIX = "SHARE#"
WORKFLOW_PREFIX = "WORKFLOW#"
WORKFLOW_VERSION_PREFIX = "WFVERSION#"
NOTICE_PREFIX = "NOTICE#"
REPORT_SK = "REPORT"
QUARANTINE_SK = "QUARANTINE"


def gallery_month(published_at_iso: str) -> str:
    """yyyy-mm of a publication time: the gallery's time shard."""
    return published_at_iso[:7]


def gallery_kind_pk(kind: str, month: str) -> str:
    """GSI1 partition of the gallery filtered by kind: one per kind per month."""
    return f"{GALLERY_PREFIX}{kind}#{month}"


def gallery_all_pk(month: str) -> str:
    """GSI2 partition of the whole gallery: one per month."""
    return f"{GALLERY_PREFIX}{month}"


def gallery_sk(published_at_iso: str, asset_id: str) -> str:
    return f"{published_at_iso}#{asset_id}"


def share_sk(share_id: str) -> str:
    return f"{SHARE_PREFIX}{share_id}"


def share_token_pk(token_hash: str) -> str:
    return f"SHARETOKEN#{token_hash}"


def workflow_sk(workflow_id: str) -> str:
    return f"{WORKFLOW_PREFIX}{workflow_id}"


def workflow_version_sk(workflow_id: str, version: int) -> str:
    return f"{WORKFLOW_VERSION_PREFIX}{workflow_id}#{version:06d}"


def workflow_versions_prefix(workflow_id: str) -> str:
    return f"{WORKFLOW_VERSION_PREFIX}{workflow_id}#"


def workflow_pointer_pk(workflow_id: str) -> str:
    return f"WORKFLOWID#{workflow_id}"


def asset_pointer_pk(asset_id: str) -> str:
    """A published asset's id -> its owner, so a report (or any public read) can name the asset
    by its id alone; listed in the owner's partition by the asset row itself."""
    return f"ASSETID#{asset_id}"


def report_pk(report_id: str) -> str:
    return f"REPORT#{report_id}"


def report_signal_pk(target_type: str, target_id: str) -> str:
    return f"REPORTSIGNAL#{target_type}#{target_id}"


def open_report_pk(guard_hash: str) -> str:
    return f"REPORTOPEN#{guard_hash}"


# The reporter's own listing of their reports, newest last in key order.
MY_REPORT_PREFIX = "MYREPORT#"


def my_report_sk(created_at: str, report_id: str) -> str:
    return f"{MY_REPORT_PREFIX}{created_at}#{report_id}"


def reports_by_status_pk(status: str) -> str:
    """GSI1 partition of reports by status (moderators' queue)."""
    return f"REPORTS#{status}"


def reports_on_target_pk(target_type: str, target_id: str) -> str:
    """GSI2 partition of the reports that name one item (its report history)."""
    return f"REPORTSON#{target_type}#{target_id}"


def moderation_audit_pk(month: str) -> str:
    return f"MODAUDIT#{month}"


def moderation_audit_sk(at_iso: str, audit_id: str) -> str:
    return f"{at_iso}#{audit_id}"


def quarantine_pk(asset_id: str) -> str:
    return f"QUARANTINED#{asset_id}"


def notice_sk(kind: str, version: str) -> str:
    return f"{NOTICE_PREFIX}{kind}#{version}"


def account_shards() -> list[str]:
    return [f"ACCOUNTS#{shard:02d}" for shard in range(ACCOUNT_SHARDS)]


# Outbound webhooks: an account's endpoints, and each endpoint's delivery log (one row per event).
WEBHOOK_ENDPOINT_PREFIX = "WHENDPOINT#"
WEBHOOK_DELIVERY_PREFIX = "WHDELIVERY#"


def webhook_endpoint_sk(endpoint_id: str) -> str:
    return f"{WEBHOOK_ENDPOINT_PREFIX}{endpoint_id}"


def webhook_deliveries_prefix(endpoint_id: str) -> str:
    return f"{WEBHOOK_DELIVERY_PREFIX}{endpoint_id}#"


def webhook_delivery_sk(endpoint_id: str, message_id: str) -> str:
    return f"{webhook_deliveries_prefix(endpoint_id)}{message_id}"
