"""The registry of item types: every kind of row Atelier stores, in one table.

For each type: the ``entity`` value its rows carry, the class that declares it (one class per stored
row; the pointer rows share ``PointerItem``), its key shape as the template documents it, the file of
an account's export its rows go to, the pointers outside the partition it lists (the one rule the
export's pointers.json and the purge's access step both follow), and what the purge does with it.

Adding an item type is one entry here (and its row in the table above MainTable in template.yaml,
which tests/unit/test_item_types.py checks against this registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pynamodb.models import Model

from atelier.data import keys
from atelier.data.accounts import identity_hash
from atelier.data.items import (
    AccountItem,
    ApiKeyItem,
    AssetItem,
    CheckoutItem,
    DeletionReceiptItem,
    EmailChangeItem,
    ExportItem,
    ExportLockItem,
    HoldItem,
    IdempotencyItem,
    InboxItem,
    JobItem,
    ModerationAuditItem,
    MyReportItem,
    OpenReportItem,
    PointerItem,
    PolicyNoticeItem,
    PolicyVersionItem,
    QuarantineRecordItem,
    RateCounterItem,
    ReportItem,
    ReportSignalItem,
    SentEmailItem,
    SessionItem,
    ShareItem,
    ShareTokenItem,
    SignInStateItem,
    SubscriptionItem,
    UnmatchedPaymentItem,
    UploadItem,
    UploadQuotaItem,
    WalletItem,
    WebhookDeliveryItem,
    WebhookEndpointItem,
    WorkflowItem,
    WorkflowVersionItem,
    WorkspaceItem,
)
from atelier.data.ledger_items import LedgerEntryItem, PaymentRecordItem, PaymentRefItem, ReversalItem
from atelier.data.suppressions import SuppressionItem, address_hash

Key = tuple[str, str]
# A row's attributes -> the keys of the pointer items outside its partition that it lists.
PointerRule = Callable[[Mapping[str, Any]], list[Key]]

MAIN = "main"
LEDGER = "ledger"


class Purge(StrEnum):
    """What the purge of an account does with a type's rows."""

    PARTITION = "deleted with the account's partition"
    ACCOUNT_ROW = "deleted last, as the deletion receipt is written"
    POINTER = "deleted through the partition row that lists it"
    LEDGER_STRIPPED = "kept 7 years in the ledger, the account id removed"
    LEDGER_KEPT = "kept 7 years in the ledger, naming nobody"
    KEPT = "kept: not the account's (moderation, receipts, policies, operators' records)"
    EXPIRES = "not the account's to delete: expires (TTL and the retention sweep)"


@dataclass(frozen=True)
class ItemType:
    entity: str  # the `entity` attribute of its rows
    label: str  # its name in the template's table
    model: type[Model]
    table: str  # MAIN or LEDGER
    pk: str  # key shapes, as the template's table writes them
    sk: str
    purge: Purge
    export_file: str | None = None  # None: other.json, for a row of the partition
    pointers: PointerRule | None = None


def _account_pointers(row: Mapping[str, Any]) -> list[Key]:
    if not (row.get("identity_issuer") and row.get("identity_subject")):
        return []
    identity_pk = keys.identity_pointer_pk(identity_hash(row["identity_issuer"], row["identity_subject"]))
    identity = (identity_pk, keys.POINTER_SK)
    # And the suppression of its address, if SES ever reported one (absent ones are skipped).
    suppression = [(keys.suppression_pk(address_hash(row["email"])), keys.POINTER_SK)] if row.get("email") else []
    return [identity, *suppression]


def _pointer_at(attribute: str, pk: Callable[[str], str]) -> PointerRule:
    """The pointer keyed on one attribute of the row (none when the row lacks it)."""

    def rule(row: Mapping[str, Any]) -> list[Key]:
        return [(pk(row[attribute]), keys.POINTER_SK)] if row.get(attribute) else []

    return rule


def _job_pointers(row: Mapping[str, Any]) -> list[Key]:
    if row.get("provider") and row.get("provider_job_id"):
        return [(keys.provider_job_pk(row["provider"], row["provider_job_id"]), keys.POINTER_SK)]
    return []


_ACCOUNT_PK = "ACCOUNT#<account id>"
_POINTER = "POINTER"

ITEM_TYPES: tuple[ItemType, ...] = (
    # -- the account's partition ---------------------------------------------------------------
    ItemType("account", "account", AccountItem, MAIN, _ACCOUNT_PK, "ACCOUNT", Purge.ACCOUNT_ROW, "account.json",
             _account_pointers),
    ItemType("workspace", "workspace", WorkspaceItem, MAIN, _ACCOUNT_PK, "WORKSPACE#<ws id>", Purge.PARTITION,
             "workspaces.json"),
    ItemType("session", "session listing", SessionItem, MAIN, _ACCOUNT_PK, "SESSION#<session id>", Purge.PARTITION,
             "sessions.json", _pointer_at("token_hash", keys.session_pointer_pk)),
    ItemType("api_key", "API key listing", ApiKeyItem, MAIN, _ACCOUNT_PK, "APIKEY#<key id>", Purge.PARTITION,
             "api_keys.json", _pointer_at("token_hash", keys.api_key_pointer_pk)),
    ItemType("sent_email", "sent email", SentEmailItem, MAIN, _ACCOUNT_PK, "EMAIL#<email id>", Purge.PARTITION,
             "emails.json"),
    ItemType("email_change", "email change", EmailChangeItem, MAIN, _ACCOUNT_PK, "EMAILCHANGE", Purge.PARTITION),
    ItemType("wallet", "wallet", WalletItem, MAIN, _ACCOUNT_PK, "WALLET", Purge.PARTITION, "wallet.json"),
    ItemType("hold", "credit hold", HoldItem, MAIN, _ACCOUNT_PK, "HOLD#<job id>", Purge.PARTITION, "holds.json"),
    ItemType("checkout", "checkout", CheckoutItem, MAIN, _ACCOUNT_PK, "CHECKOUT#<checkout id>", Purge.PARTITION,
             "checkouts.json"),
    ItemType("subscription", "subscription", SubscriptionItem, MAIN, _ACCOUNT_PK, "SUBSCRIPTION#<prov>#<id>",
             Purge.PARTITION, "subscriptions.json"),
    ItemType("job", "job", JobItem, MAIN, _ACCOUNT_PK, "JOB#<job id>", Purge.PARTITION, "jobs.json", _job_pointers),
    ItemType("idempotency_key", "idempotency key", IdempotencyItem, MAIN, _ACCOUNT_PK, "IDEMPOTENCY#<sha256(key)>",
             Purge.PARTITION, "idempotency_keys.json"),
    ItemType("upload", "upload", UploadItem, MAIN, _ACCOUNT_PK, "UPLOAD#<upload id>", Purge.PARTITION, "uploads.json"),
    ItemType("upload_quota", "upload quota", UploadQuotaItem, MAIN, _ACCOUNT_PK, "UPLOADQUOTA", Purge.PARTITION,
             "uploads.json"),
    ItemType("asset", "asset", AssetItem, MAIN, _ACCOUNT_PK, "ASSET#<asset id>", Purge.PARTITION, "assets.json",
             _pointer_at("asset_id", keys.asset_pointer_pk)),
    ItemType("export", "export", ExportItem, MAIN, _ACCOUNT_PK, "EXPORT#<export id>", Purge.PARTITION, "exports.json"),
    ItemType("export_lock", "export lock", ExportLockItem, MAIN, _ACCOUNT_PK, "EXPORTLOCK", Purge.PARTITION,
             "exports.json"),
    ItemType("webhook_endpoint", "webhook endpoint", WebhookEndpointItem, MAIN, _ACCOUNT_PK,
             "WHENDPOINT#<endpoint id>", Purge.PARTITION, "webhook_endpoints.json"),
    ItemType("webhook_delivery", "webhook delivery", WebhookDeliveryItem, MAIN, _ACCOUNT_PK,
             "WHDELIVERY#<endpoint>#<msg>", Purge.PARTITION, "webhook_deliveries.json"),
    ItemType("my_report", "my report", MyReportItem, MAIN, _ACCOUNT_PK, "MYREPORT#<created>#<id>", Purge.PARTITION,
             "reports.json"),
    ItemType("share", "share listing", ShareItem, MAIN, _ACCOUNT_PK, "SHARE#<share id>", Purge.PARTITION,
             pointers=_pointer_at("token_hash", keys.share_token_pk)),
    ItemType("workflow", "workflow", WorkflowItem, MAIN, _ACCOUNT_PK, "WORKFLOW#<workflow id>", Purge.PARTITION,
             pointers=_pointer_at("workflow_id", keys.workflow_pointer_pk)),
    ItemType("workflow_version", "workflow version", WorkflowVersionItem, MAIN, _ACCOUNT_PK,
             "WFVERSION#<wf id>#<n:06>", Purge.PARTITION),
    ItemType("policy_notice", "policy notice", PolicyNoticeItem, MAIN, _ACCOUNT_PK, "NOTICE#<kind>#<version>",
             Purge.PARTITION),
    # -- pointers, listed by a row of the owner's partition ------------------------------------------
    ItemType("identity_link", "identity link", PointerItem, MAIN, "IDENTITY#<sha256(iss,sub)>", _POINTER,
             Purge.POINTER, "pointers.json"),
    ItemType("session_token", "session token", PointerItem, MAIN, "SESSIONTOKEN#<sha256>", _POINTER, Purge.POINTER,
             "pointers.json"),
    ItemType("api_key_token", "API-key token", PointerItem, MAIN, "APIKEYTOKEN#<sha256>", _POINTER, Purge.POINTER,
             "pointers.json"),
    ItemType("provider_job", "provider job", PointerItem, MAIN, "PROVIDERJOB#<prov>#<id>", _POINTER, Purge.POINTER,
             "pointers.json"),
    ItemType("asset_pointer", "asset pointer", PointerItem, MAIN, "ASSETID#<asset id>", _POINTER, Purge.POINTER,
             "pointers.json"),
    ItemType("workflow_pointer", "workflow pointer", PointerItem, MAIN, "WORKFLOWID#<workflow id>", _POINTER,
             Purge.POINTER),
    ItemType("share_token", "share token", ShareTokenItem, MAIN, "SHARETOKEN#<sha256>", _POINTER, Purge.POINTER),
    ItemType("email_suppression", "suppression", SuppressionItem, MAIN, "SUPPRESSION#<sha256(addr)>",
             _POINTER, Purge.POINTER),
    # -- rows that are not the account's ------------------------------------------------------------
    ItemType("sign_in_state", "sign-in state", SignInStateItem, MAIN, "SIGNIN#<sha256(state)>", _POINTER,
             Purge.EXPIRES),
    ItemType("rate_counter", "rate counter", RateCounterItem, MAIN, "RATE#<scope>#<hmac>", "WINDOW#<window start>",
             Purge.EXPIRES),
    ItemType("payment_event", "payment event", InboxItem, MAIN, "INBOX#<provider>#<event>", _POINTER, Purge.EXPIRES),
    ItemType("report_signal", "report signal", ReportSignalItem, MAIN, "REPORTSIGNAL#<type>#<target id>",
             "WINDOW#<start>", Purge.EXPIRES),
    ItemType("policy_version", "policy version", PolicyVersionItem, MAIN, "POLICY#<terms|privacy>",
             "VERSION#<effective>#<v>", Purge.KEPT),
    ItemType("deletion_receipt", "deletion receipt", DeletionReceiptItem, MAIN, "DELETION#<sha256(acct id)>",
             "RECEIPT", Purge.KEPT),
    ItemType("report", "report", ReportItem, MAIN, "REPORT#<report id>", "REPORT", Purge.KEPT),
    ItemType("open_report", "open report", OpenReportItem, MAIN, "REPORTOPEN#<sha256(reporter,target)>", _POINTER,
             Purge.KEPT),
    ItemType("moderation_audit", "moderation audit", ModerationAuditItem, MAIN, "MODAUDIT#<yyyy-mm>",
             "<at>#<audit id>", Purge.KEPT),
    ItemType("quarantine_record", "quarantine rec.", QuarantineRecordItem, MAIN, "QUARANTINED#<asset id>",
             "QUARANTINE", Purge.KEPT),
    ItemType("unmatched_payment", "unmatched paymt", UnmatchedPaymentItem, MAIN, "UNMATCHED#<prov>#<paid obj>",
             "UNMATCHED", Purge.KEPT),
    # -- the ledger table ---------------------------------------------------------------------------
    ItemType("ledger_entry", "ledger entry", LedgerEntryItem, LEDGER, "<ledger id>", "ENTRY#<time-ordered id>",
             Purge.LEDGER_KEPT, "ledger.json"),
    ItemType("payment_record", "payment record", PaymentRecordItem, LEDGER, "<ledger id>",
             "PAYMENT#<provider>#<paid obj>", Purge.LEDGER_STRIPPED, "payments.json"),
    ItemType("reversal", "reversal", ReversalItem, LEDGER, "<ledger id>", "REVERSAL#<provider>#<refund>",
             Purge.LEDGER_KEPT, "payments.json"),
    ItemType("payment_ref", "payment ref", PaymentRefItem, LEDGER, "PAYREF#<provider>#<ref>", "PAYREF",
             Purge.LEDGER_KEPT),
)  # fmt: skip

BY_ENTITY: dict[str, ItemType] = {item_type.entity: item_type for item_type in ITEM_TYPES}


def export_files() -> dict[str, str]:
    """Entity -> the export file its rows go to (a row of any other type goes to other.json)."""
    return {item_type.entity: item_type.export_file for item_type in ITEM_TYPES if item_type.export_file}


def pointers_listed_by(entity: str, attributes: Mapping[str, Any]) -> list[Key]:
    """The keys of the pointer items outside the partition that a row of this type lists."""
    item_type = BY_ENTITY.get(entity)
    if item_type is None or item_type.pointers is None:
        return []
    return item_type.pointers(attributes)
