"""PynamoDB item classes for the main table. They never leave the data-access layer: repositories
map them to domain models. Each stored row is declared once, here (or in ledger_items.py), and
every class is in the registry of item types (atelier.data.item_types)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from atelier.data.base import MainTableModel
from atelier.data.expiry import ExpiringItem


class AccountShardIndex(GlobalSecondaryIndex["AccountItem"]):
    """GSI1 over every account by shard (ACCOUNTS#<shard> / <account id>)."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class DueIndex(GlobalSecondaryIndex["AccountItem"]):
    """GSI2 over accounts whose purge is due (PURGE_DUE / <purge at>#<account id>)."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class AccountItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=ACCOUNT: the account row, the one declaration of it.

    GSI1 lists every account by shard (ACCOUNTS#<shard> / <account id>), for the policy-notice
    fan-out. While a deletion is scheduled the row is in GSI2 under PURGE_DUE / <purge at>#<account
    id>; `purge_steps` records the purge's progress so a purge stopped half-way continues where it
    stopped."""

    account_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    identity_issuer = UnicodeAttribute()
    identity_subject = UnicodeAttribute()
    picture_url = UnicodeAttribute(null=True)
    # The uploaded profile picture's object (a copy under the account's prefix), if any.
    avatar_key = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="active")
    # A moderator's suspension (P19): its own attribute, which no money or deletion flow writes.
    suspended_at = UTCDateTimeAttribute(null=True)
    # The account's record as a reporter: its reports moderators upheld, and dismissed.
    reports_upheld = NumberAttribute(null=True)
    reports_dismissed = NumberAttribute(null=True)
    age_confirmed = BooleanAttribute(default=False)
    terms_version = UnicodeAttribute(null=True)
    terms_accepted_at = UTCDateTimeAttribute(null=True)
    consent = MapAttribute[str, bool](default=dict)
    consent_updated_at = UTCDateTimeAttribute(null=True)
    preferences = MapAttribute[str, str](default=dict)
    default_workspace_id = UnicodeAttribute()
    ledger_id = UnicodeAttribute()
    # The deletion countdown and the purge.
    deletion_requested_at = UTCDateTimeAttribute(null=True)
    purge_at = UTCDateTimeAttribute(null=True)
    status_before_deletion = UnicodeAttribute(null=True)
    purge_started_at = UTCDateTimeAttribute(null=True)
    purge_steps = ListAttribute(of=UnicodeAttribute, null=True)
    purge_counts = JSONAttribute(null=True)
    purge_provider_actions = JSONAttribute(null=True)
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    by_shard = AccountShardIndex()
    due = DueIndex()


class PointerItem(MainTableModel):
    """A look-up by another key: PK=<KIND>#<hash> SK=POINTER -> the owning account.

    Identity links, session tokens and API-key tokens are pointers. Each is also listed in the
    owner's partition (the account row names its identity; SESSION#/APIKEY# rows carry the token
    hash), so a purge finds and deletes them with a Query of that partition.
    """

    account_id = UnicodeAttribute()
    # For sessions and API keys: the id of the listing row in the owner's partition.
    ref_id = UnicodeAttribute(null=True)
    # Stable facts about the owner, copied so authentication needs no second read.
    ledger_id = UnicodeAttribute(null=True)
    default_workspace_id = UnicodeAttribute(null=True)
    idle_expires_at = UTCDateTimeAttribute(null=True)
    absolute_expires_at = UTCDateTimeAttribute(null=True)
    last_seen_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # For API keys: what the key may do. Absent on keys made before scopes: the default scopes.
    scopes = UnicodeSetAttribute(null=True)


class SessionItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=SESSION#<session id>: the owner's listing of a session pointer."""

    session_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ApiKeyItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=APIKEY#<key id>: an API key's metadata and its token hash."""

    api_key_id = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    scopes = UnicodeSetAttribute(null=True)
    # When the key last authenticated a request, to a few minutes (shown to its owner).
    last_used_at = UTCDateTimeAttribute(null=True)


class WorkspaceItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WORKSPACE#<workspace id>."""

    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    is_default = BooleanAttribute(default=False)
    content_count = NumberAttribute(default=0)


class SignInStateItem(ExpiringItem):
    """PK=SIGNIN#<state hash> SK=POINTER: a sign-in in progress, consumed once by its callback."""

    browser_binding_hash = UnicodeAttribute()
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute()
    provider = UnicodeAttribute()
    redirect_to = UnicodeAttribute()
    state_expires_at = UTCDateTimeAttribute()


class SentEmailItem(ExpiringItem):
    """PK=ACCOUNT#<id> SK=EMAIL#<email id>: kind, subject and time of an email sent (30-day TTL)."""

    email_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()


class EmailChangeItem(ExpiringItem):
    """PK=ACCOUNT#<id> SK=EMAILCHANGE: a change of address waiting for the link sent to the new
    address; only the confirmation token's hash is kept. One per account; gone once confirmed,
    replaced by a newer request, swept once expired, purged with the partition."""

    new_email = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    change_expires_at = UTCDateTimeAttribute()


class RateCounterItem(ExpiringItem):
    """PK=RATE#<scope>#<hashed subject> SK=WINDOW#<start>: hits in one fixed window."""

    hits = NumberAttribute(default=0)


class PolicyVersionItem(MainTableModel):
    """PK=POLICY#<kind> SK=VERSION#<effective at>#<version>."""

    kind = UnicodeAttribute()
    version = UnicodeAttribute()
    summary = UnicodeAttribute()
    effective_at = UTCDateTimeAttribute()
    published_at = UTCDateTimeAttribute()
    material = BooleanAttribute(default=False)


class WalletItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WALLET: credits available, held, and the monthly spend cap.

    `cap_headroom` is what the cap still allows this month (a very large number when there is no
    cap), so one conditional update can check balance and cap together: DynamoDB conditions compare
    values but cannot add.
    """

    ledger_id = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    spend_cap = NumberAttribute(null=True)
    cap_headroom = NumberAttribute()
    spend_month = UnicodeAttribute()
    spent_month = NumberAttribute(default=0)
    restricted = BooleanAttribute(default=False)
    # Jobs holding credits right now, for the per-account limit on jobs in flight.
    jobs_in_flight = NumberAttribute(null=True)


class HoldItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=HOLD#<reference>: credits reserved for one job, settled or released once."""

    reference = UnicodeAttribute()
    credits = NumberAttribute()
    status = UnicodeAttribute()  # held | settled | released
    spend_month = UnicodeAttribute()
    generation_kind = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class CheckoutItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=CHECKOUT#<checkout id>: a checkout started at a provider."""

    checkout_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    provider_checkout_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class SubscriptionItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=SUBSCRIPTION#<provider>#<subscription id>."""

    provider = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    plan_id = UnicodeAttribute()
    status = UnicodeAttribute()
    current_period_end = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


class InboxItem(ExpiringItem):
    """PK=INBOX#<provider>#<event id> SK=POINTER: one payment-provider event, written only if absent."""

    event_type = UnicodeAttribute()
    status = UnicodeAttribute()  # received | processed
    received_at = UTCDateTimeAttribute()


class UnmatchedPaymentsIndex(GlobalSecondaryIndex["UnmatchedPaymentItem"]):
    """GSI1 over payments no account could be credited for (UNMATCHED_PAYMENTS / <received>#<prov>#<key>)."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class UnmatchedPaymentItem(MainTableModel):
    """PK=UNMATCHED#<provider>#<paid object> SK=UNMATCHED: money a provider says was paid that no
    account could be credited for, kept for an operator. Provider ids and amounts only."""

    provider = UnicodeAttribute()
    payment_key = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    reason = UnicodeAttribute()
    item_id = UnicodeAttribute(null=True)
    amount_minor = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
    listed = UnmatchedPaymentsIndex()


class InFlightIndex(GlobalSecondaryIndex["JobItem"]):
    """GSI2 over unfinished jobs, by deadline."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class JobItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=JOB#<job id>; GSI2 (INFLIGHT#<shard> / <deadline>#<job id>) while unfinished."""

    job_id = UnicodeAttribute()
    ledger_id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    model = UnicodeAttribute()
    prompt = UnicodeAttribute()
    negative_prompt = UnicodeAttribute(null=True)
    params = JSONAttribute(default=dict)
    reference_upload_ids = ListAttribute(of=UnicodeAttribute, default=list)
    workflow_version_id = UnicodeAttribute(null=True)
    # A per-job webhook receiver (deliveries signed with the account's default secret).
    webhook_url = UnicodeAttribute(null=True)
    cancel_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute()
    provider = UnicodeAttribute()
    provider_job_id = UnicodeAttribute(null=True)
    progress = NumberAttribute(null=True)
    queue_position = NumberAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    outputs = ListAttribute(of=UnicodeAttribute, default=list)
    cost_credits = NumberAttribute()
    charged_credits = NumberAttribute(default=0)
    compute_seconds = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    deadline_at = UTCDateTimeAttribute()
    polls = NumberAttribute(default=0)
    # While a worker is starting the job (see JobRepository.claim_start).
    start_claimed_until = UTCDateTimeAttribute(null=True)
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    in_flight = InFlightIndex()


class IdempotencyItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=IDEMPOTENCY#<sha256(key)>: the job an Idempotency-Key made (24 h TTL)."""

    job_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()


class UploadItem(ExpiringItem):
    """PK=ACCOUNT#<id> SK=UPLOAD#<upload id>: a reference image upload.

    While no job has used it, it is on GSI1 under the day it stops being kept (`unused_until`), so
    the retention sweep finds it; it carries no `expires_at`, so TTL never removes it behind the
    quota's back. First use removes it from the index."""

    upload_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    object_key = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    # The size declared when it was started: what it holds of the quota until first use or expiry.
    quota_bytes = NumberAttribute(null=True)
    unused_until = UTCDateTimeAttribute(null=True)
    used_at = UTCDateTimeAttribute(null=True)
    thumbnail_key = UnicodeAttribute(null=True)


class UploadQuotaItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=UPLOADQUOTA: how many unused uploads the account holds, and their
    declared bytes; changed in the same transaction as each upload it counts."""

    unused_count = NumberAttribute(default=0)
    unused_bytes = NumberAttribute(default=0)


class GalleryKindIndex(GlobalSecondaryIndex["AssetItem"]):
    """GSI1 over published assets by kind and month (GALLERY#<kind>#<yyyy-mm> / <published>#<id>)."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class GalleryAllIndex(GlobalSecondaryIndex["AssetItem"]):
    """GSI2 over published assets of every kind by month (GALLERY#<yyyy-mm> / <published>#<id>)."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class AssetItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=ASSET#<asset id>: a stored output (or verified upload), the one declaration
    of the asset row.

    While the asset is public and not taken down it carries the gallery keys (GSI1 by kind, GSI2
    all kinds); `listed` is cleared while its owner's deletion is scheduled, and the gallery lists
    only listed entries."""

    asset_id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    duration_s = NumberAttribute(null=True)
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    labels = ListAttribute(of=UnicodeAttribute, default=list)
    rating = NumberAttribute(null=True)
    visibility = UnicodeAttribute(default="private")
    removed = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    thumbnail_key = UnicodeAttribute(null=True)
    poster_key = UnicodeAttribute(null=True)
    public_prefix = UnicodeAttribute(null=True)
    # The gallery and moderation.
    published_at = UTCDateTimeAttribute(null=True)
    listed = BooleanAttribute(null=True)
    under_review = BooleanAttribute(null=True)
    quarantined = BooleanAttribute(null=True)
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    by_kind = GalleryKindIndex()
    all_kinds = GalleryAllIndex()
    # Media moderation's reason to keep it private, and the provenance read at storage time.
    restriction = UnicodeAttribute(null=True)
    screened_at = UTCDateTimeAttribute(null=True)
    provenance_c2pa = UnicodeAttribute(null=True)
    digital_source_type = UnicodeAttribute(null=True)


# -- privacy: exports, the deletion countdown and purge, deletion receipts --------------------------
class ExportItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=EXPORT#<export id>: a "download my data" request and its archive."""

    export_id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | running | ready | failed
    requested_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    object_key = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True)
    available_until = UTCDateTimeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)


class ExportLockItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=EXPORTLOCK: the export queued or running now (one per account); released
    when it finishes, and taken over once `stale_at` passes (an export that died without a word)."""

    export_id = UnicodeAttribute()
    taken_at = UTCDateTimeAttribute()
    stale_at = UTCDateTimeAttribute()


class ProviderCleanupIndex(GlobalSecondaryIndex["DeletionReceiptItem"]):
    """GSI2 over receipts with provider calls still owed (PROVIDER_CLEANUP_DUE / <next try>#<hash>)."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class DeletionReceiptItem(MainTableModel):
    """PK=DELETION#<sha256(account id)> SK=RECEIPT: proof of a purge, without personal data. While a
    payment provider still owes a cancellation or deletion it is in GSI2 for the next purge run."""

    requested_at = UTCDateTimeAttribute(null=True)
    purge_at = UTCDateTimeAttribute(null=True)
    purged_at = UTCDateTimeAttribute()
    counts = JSONAttribute(default=dict)
    provider_actions = JSONAttribute(null=True)
    provider_attempts = NumberAttribute(default=0)
    provider_actions_abandoned = JSONAttribute(null=True)
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    cleanup_due = ProviderCleanupIndex()


# -- gallery, share links, workflows, reports and moderation, policy notices ------------------------
class ShareItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=SHARE#<share id>: the owner's listing of a share link (and its token hash,
    so a purge finds the pointer)."""

    share_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    link_expires_at = UTCDateTimeAttribute(null=True)


class ShareTokenItem(MainTableModel):
    """PK=SHARETOKEN#<sha256(token)> SK=POINTER -> the shared item; deleted when revoked."""

    account_id = UnicodeAttribute()
    share_id = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    link_expires_at = UTCDateTimeAttribute(null=True)


class WorkflowItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WORKFLOW#<workflow id>: a saved recipe's name, visibility and latest version."""

    workflow_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    visibility = UnicodeAttribute(default="private")
    latest_version = NumberAttribute()
    forked_from = UnicodeAttribute(null=True)
    removed = BooleanAttribute(default=False)
    under_review = BooleanAttribute(null=True)
    listed = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class WorkflowVersionItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WFVERSION#<workflow id>#<version, 6 digits>: immutable, written once."""

    workflow_id = UnicodeAttribute()
    version_id = UnicodeAttribute()
    version = NumberAttribute()
    kind = UnicodeAttribute()
    model = UnicodeAttribute()
    prompt_template = UnicodeAttribute()
    params = JSONAttribute(default=dict)
    note = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class ReportsByStatusIndex(GlobalSecondaryIndex["ReportItem"]):
    """GSI1 over reports by status (REPORTS#<open|resolved> / <created at>#<report id>)."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class ReportsByTargetIndex(GlobalSecondaryIndex["ReportItem"]):
    """GSI2 over reports by the item they name (REPORTSON#<type>#<target id> / <created at>#<report id>):
    an item's report history, for the moderator deciding on it."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class ReportItem(MainTableModel):
    """PK=REPORT#<report id> SK=REPORT: a report of content, and how it was resolved."""

    report_id = UnicodeAttribute()
    reporter_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    details = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    guard_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    resolved_at = UTCDateTimeAttribute(null=True)
    action = UnicodeAttribute(null=True)
    moderator_id = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    by_status = ReportsByStatusIndex()
    by_target = ReportsByTargetIndex()


class MyReportItem(MainTableModel):
    """PK=ACCOUNT#<reporter id> SK=MYREPORT#<created>#<report id>: the reporter's listing of a report
    they made (the report itself lives outside their partition); removed with their account."""

    report_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class OpenReportItem(MainTableModel):
    """PK=REPORTOPEN#<sha256(reporter, target)> SK=POINTER: the one open report of a reporter on a
    target, written only if absent, deleted when the report is resolved."""

    report_id = UnicodeAttribute()


class ReportSignalItem(ExpiringItem):
    """PK=REPORTSIGNAL#<target type>#<target id> SK=WINDOW#<window start>: the distinct reporters
    (salted hashes, never account ids) of minor-safety reports on one target in one fixed window."""

    reporters = UnicodeSetAttribute(null=True)


class ModerationAuditItem(MainTableModel):
    """PK=MODAUDIT#<yyyy-mm> SK=<at>#<audit id>: who did what to what, when and why."""

    audit_id = UnicodeAttribute()
    moderator_id = UnicodeAttribute()
    action = UnicodeAttribute()
    # None for an action on an account itself (lifting a suspension).
    report_id = UnicodeAttribute(null=True)
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    note = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class QuarantineRecordItem(MainTableModel):
    """PK=QUARANTINED#<asset id> SK=QUARANTINE: what a report to the authorities needs; kept apart
    from the owner's partition so the purge leaves it for the legal report."""

    asset_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    content_type = UnicodeAttribute()
    report_id = UnicodeAttribute()
    reporter_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    reported_at = UTCDateTimeAttribute()
    moderator_id = UnicodeAttribute()
    note = UnicodeAttribute()
    quarantined_at = UTCDateTimeAttribute()


class PolicyNoticeItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=NOTICE#<kind>#<version>: the notice of a policy version went to this
    account; written only if absent, so a redelivered batch emails no one twice."""

    sent_at = UTCDateTimeAttribute()


class WebhookEndpointItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WHENDPOINT#<endpoint id>: an outbound webhook endpoint, its signing secret
    and, during a rotation's overlap window, the previous one."""

    endpoint_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute, default=list)
    description = UnicodeAttribute(default="")
    enabled = BooleanAttribute(default=True)
    include_prompt = BooleanAttribute(default=False)
    credits_low_threshold = NumberAttribute(null=True)
    signing_secret = UnicodeAttribute()
    previous_signing_secret = UnicodeAttribute(null=True)
    previous_secret_expires_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # The first failed attempt of an unbroken run of failures; cleared by any success.
    failing_since = UTCDateTimeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)


class WebhookDeliveryItem(ExpiringItem):
    """PK=ACCOUNT#<id> SK=WHDELIVERY#<endpoint id>#<message id>: one event for one endpoint, the
    exact body every attempt sends, and how its attempts went (30-day TTL)."""

    endpoint_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    body = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | delivered | failed
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    # Retries stop this long after the chain (the first attempt, or a manual redelivery) began.
    window_started_at = UTCDateTimeAttribute()
    last_attempt_at = UTCDateTimeAttribute(null=True)
    last_status = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    next_attempt_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    url = UnicodeAttribute(null=True)
