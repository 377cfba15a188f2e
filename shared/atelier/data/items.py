"""PynamoDB item classes for the main table. They never leave the data-access layer: repositories
map them to domain models. Every class here has a row in the item-type table in template.yaml."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from atelier.data.base import MainTableModel


class AccountItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=ACCOUNT; GSI1 lists every account by shard."""

    account_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    identity_issuer = UnicodeAttribute()
    identity_subject = UnicodeAttribute()
    picture_url = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="active")
    age_confirmed = BooleanAttribute(default=False)
    terms_version = UnicodeAttribute(null=True)
    terms_accepted_at = UTCDateTimeAttribute(null=True)
    consent = MapAttribute[str, bool](default=dict)
    consent_updated_at = UTCDateTimeAttribute(null=True)
    preferences = MapAttribute[str, str](default=dict)
    default_workspace_id = UnicodeAttribute()
    ledger_id = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)


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


class WorkspaceItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=WORKSPACE#<workspace id>."""

    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    is_default = BooleanAttribute(default=False)
    content_count = NumberAttribute(default=0)


class SignInStateItem(MainTableModel):
    """PK=SIGNIN#<state hash> SK=POINTER: a sign-in in progress, consumed once by its callback."""

    browser_binding_hash = UnicodeAttribute()
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute()
    provider = UnicodeAttribute()
    redirect_to = UnicodeAttribute()
    state_expires_at = UTCDateTimeAttribute()


class SentEmailItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=EMAIL#<email id>: kind, subject and time of an email sent (30-day TTL)."""

    email_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()


class RateCounterItem(MainTableModel):
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


class InboxItem(MainTableModel):
    """PK=INBOX#<provider>#<event id> SK=POINTER: one payment-provider event, written only if absent."""

    event_type = UnicodeAttribute()
    status = UnicodeAttribute()  # received | processed
    received_at = UTCDateTimeAttribute()


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
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    in_flight = InFlightIndex()


class IdempotencyItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=IDEMPOTENCY#<sha256(key)>: the job an Idempotency-Key made (24 h TTL)."""

    job_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()


class UploadItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=UPLOAD#<upload id>: a reference image upload."""

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


class AssetItem(MainTableModel):
    """PK=ACCOUNT#<id> SK=ASSET#<asset id>: a stored output (or verified upload)."""

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
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
