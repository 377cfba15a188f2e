"""What the privacy tests share: an account with one of everything that exists today, a purger wired
to the emulator with recording payment and inference providers, and a sweep of every table and
bucket of the emulator for anything that still names an account. (No tests here.)"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from atelier import errors, tokens
from atelier.data import keys
from atelier.data.base import main_table_connection
from atelier.ids import IdPrefix, new_id
from atelier.integrations.storage import upload_key
from atelier.models.accounts import Account, Principal, PrincipalKind, Workspace
from atelier.models.billing import Subscription
from atelier.models.email import EmailKind
from atelier.models.generation import Visibility
from atelier.models.webhooks import WebhookEventType
from atelier.services import get_services
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.build_export import BuildExportDeps, ExportMessage, build_export
from atelier.usecases.create_api_key import CreateApiKeyDeps, create_api_key
from atelier.usecases.deliver_webhooks import WebhookEvents
from atelier.usecases.manage_assets import UpdateAssetDeps, update_asset
from atelier.usecases.manage_uploads import StartUploadDeps, start_upload
from atelier.usecases.manage_webhooks import create_endpoint, send_test_event
from atelier.usecases.manage_workspaces import create_workspace
from atelier.usecases.open_session import open_session
from atelier.usecases.purge_account import Checkpoint, Purger
from atelier.usecases.request_export import RequestExportDeps, request_export
from atelier.usecases.run_generation import run_generation
from atelier.usecases.send_email import send_email
from atelier.usecases.submit_job import JobSubmission, submit_job
from tests.support.generation import FakeProvider, KeptMessages, png_bytes, run_generation_deps, submit_job_deps
from tests.support.money import give_credits


class MovedClock:
    def __init__(self, offset: timedelta = timedelta()):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class RecordingPaymentProvider:
    """A payment provider that records cancellations and deletions, or fails them while `failing`."""

    name: str = "stripe"
    failing: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)

    def cancel_subscription(self, subscription_id: str) -> None:
        if self.failing:
            raise errors.DependencyUnavailableError()
        self.calls.append(("cancel_subscription", subscription_id))

    def delete_customer(self, customer_id: str) -> None:
        if self.failing:
            raise errors.DependencyUnavailableError()
        self.calls.append(("delete_customer", customer_id))

    def create_checkout(self, request: Any) -> Any:
        raise NotImplementedError

    def parse_webhook(self, headers: Any, raw_body: bytes) -> Any:
        raise NotImplementedError

    def complete_return(self, provider_checkout_id: str) -> Any:
        raise NotImplementedError


@dataclass
class FullAccount:
    """An account with one of everything, and every value that names it or its content."""

    account: Account
    principal: Principal
    session_token: str
    api_key: str
    customer_id: str
    subscription_id: str
    prompts: list[str]
    job_ids: list[str]
    running_job_id: str
    public_asset_id: str
    private_labels: list[str]
    upload_filename: str
    workspace_name: str
    webhook_secret: str = ""

    @property
    def needles(self) -> list[str]:
        """What must not be found anywhere once the account is purged."""
        return [
            self.account.id,
            self.account.email,
            self.account.name,
            self.account.identity_subject,
            self.session_token,
            tokens.hash_token(self.session_token),
            self.api_key,
            tokens.hash_token(self.api_key),
            self.customer_id,
            self.subscription_id,
            self.upload_filename,
            self.workspace_name,
            *self.prompts,
            *self.private_labels,
            *([self.webhook_secret] if self.webhook_secret else []),
        ]


def unique(label: str) -> str:
    return f"{label}-{secrets.token_hex(6)}"


def create_account(now: datetime | None = None) -> Account:
    services = get_services()
    now = now or datetime.now(UTC)
    account_id = new_id(IdPrefix.ACCOUNT)
    workspace = Workspace(
        id=new_id(IdPrefix.WORKSPACE), account_id=account_id, name="Personal", created_at=now, is_default=True
    )
    account = Account(
        id=account_id,
        email=f"{unique('person')}@example.org",
        name=unique("Person Name"),
        identity_issuer="https://issuer.test",
        identity_subject=unique("subject"),
        created_at=now,
        default_workspace_id=workspace.id,
        ledger_id=new_id(IdPrefix.LEDGER),
    )
    services.accounts.create(account, workspace)
    return account


def principal_of(account: Account) -> Principal:
    return Principal(
        kind=PrincipalKind.ACCOUNT,
        account_id=account.id,
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
        via="session",
    )


def ready_account(credits: int = 100) -> Account:
    services = get_services()
    account = create_account()
    give_credits(account, credits)
    accept_terms(
        account.id,
        services.settings.policy.initial_terms_version,
        accounts=services.accounts,
        policies=services.policies,
        clock=services.clock,
        settings=services.settings,
    )
    return account


def submit(principal: Principal, queue: KeptMessages, prompt: str, *, kind: str = "image", key: str | None = None):
    model = "local-video" if kind == "video" else "local-image"
    return submit_job(
        submit_job_deps(queue=queue),
        principal,
        JobSubmission(kind=kind, model=model, prompt=prompt, negative_prompt=None, params={}, reference_upload_ids=[]),
        workspace_id=None,
        idempotency_key=key,
    ).job


def run_queued(queue: KeptMessages, provider: FakeProvider, max_steps: int = 20) -> None:
    for _ in range(max_steps):
        messages = queue.take()
        if not messages:
            return
        for message in messages:
            run_generation(
                run_generation_deps(queue=queue, provider_for=lambda _name: provider), message, receive_count=1
            )


def full_account(provider: FakeProvider | None = None) -> FullAccount:
    """Sessions, an API key, workspaces, finished jobs of both kinds, a job still running at its
    provider, an upload, outputs and assets (one public), a purchase, a subscription, a checkout,
    sent emails, an idempotency key, an export, and an item of a type no code knows yet."""
    services = get_services()
    provider = provider or FakeProvider()
    account = ready_account(200)
    principal = principal_of(account)
    session_token, _ = open_session(
        account, sessions=services.sessions, clock=services.clock, settings=services.settings
    )
    api_key = create_api_key(CreateApiKeyDeps.from_services(services), account.id, unique("key name")).key
    workspace_name = unique("Client work")
    create_workspace(
        account.id, workspace_name, workspaces=services.workspaces, clock=services.clock, settings=services.settings
    )

    queue = KeptMessages()
    prompts = [unique("a lighthouse at dusk"), unique("waves on basalt"), unique("a slow pan over dunes")]
    image = submit(principal, queue, prompts[0], key=unique("idem"))
    second_image = submit(principal, queue, prompts[1])
    video = submit(principal, queue, prompts[2], kind="video")
    run_queued(queue, provider)
    running_prompt = unique("still rendering")
    prompts.append(running_prompt)
    provider.asynchronous = True
    provider.polls_to_finish = 99
    running = submit(principal, queue, running_prompt)
    queue.take()
    run_generation_once(running.account_id, running.id, provider, queue)
    queue.take()

    upload_filename = unique("my-sketch") + ".png"
    started = start_upload(StartUploadDeps.from_services(services), account.id, upload_filename, "image/png", 2000)
    services.asset_storage.put(upload_key(account.id, started.upload.id), png_bytes(32, 32), "image/png")

    [public_asset_id] = services.jobs.get(account.id, image.id).outputs
    private_labels = [unique("label")]
    update_asset(
        UpdateAssetDeps.from_services(services),
        account.id,
        public_asset_id,
        labels=None,
        rating=5,
        clear_rating=False,
        visibility=Visibility.PUBLIC,
    )
    [private_asset_id] = services.jobs.get(account.id, second_image.id).outputs
    update_asset(
        UpdateAssetDeps.from_services(services),
        account.id,
        private_asset_id,
        labels=private_labels,
        rating=None,
        clear_rating=False,
        visibility=None,
    )

    customer_id, subscription_id = unique("cus"), unique("sub")
    services.payments.save_subscription(
        account.id,
        Subscription(provider="stripe", subscription_id=subscription_id, plan_id="plan_monthly", status="active"),
        customer_id,
        datetime.now(UTC),
    )
    services.payments.save_checkout(
        account.id, new_id(IdPrefix.CHECKOUT), "stripe", unique("cs"), "pack_starter", datetime.now(UTC)
    )
    send_email(
        account,
        EmailKind.ACCOUNT,
        "Welcome to Atelier",
        "Hello.",
        mailer=services.mailer,
        sent_emails=services.sent_emails,
        clock=services.clock,
    )
    webhook_secret = add_webhook_endpoint(account.id)
    export_now(account)
    write_unknown_item(account.id)
    return FullAccount(
        account=account,
        principal=principal,
        session_token=session_token,
        api_key=api_key,
        customer_id=customer_id,
        subscription_id=subscription_id,
        prompts=prompts,
        job_ids=[image.id, second_image.id, video.id, running.id],
        running_job_id=running.id,
        public_asset_id=public_asset_id,
        private_labels=private_labels,
        upload_filename=upload_filename,
        workspace_name=workspace_name,
        webhook_secret=webhook_secret,
    )


def add_webhook_endpoint(account_id: str) -> str:
    """A webhook endpoint with one delivery logged (a test event); answers its signing secret."""
    services = get_services()
    endpoint = create_endpoint(
        account_id,
        url="https://hooks.example.com/atelier",
        events=[WebhookEventType.EXPORT_READY],
        description="ci",
        enabled=True,
        include_prompt=False,
        webhooks=services.webhooks,
        clock=services.clock,
        settings=services.settings,
    )
    events = WebhookEvents(services.webhooks, KeptMessages(), services.clock)  # type: ignore[arg-type]
    send_test_event(account_id, endpoint.id, events=events)
    return endpoint.signing_secret


def run_generation_once(account_id: str, job_id: str, provider: FakeProvider, queue: KeptMessages) -> None:
    from atelier.usecases.run_generation import GenerationMessage

    run_generation(
        run_generation_deps(queue=queue, provider_for=lambda _name: provider),
        GenerationMessage(account_id=account_id, job_id=job_id, action="start"),
        receive_count=1,
    )


def write_unknown_item(account_id: str) -> None:
    """An item of a type a later capability might add, which no code here knows."""
    main_table_connection().put_item(
        keys.account_pk(account_id),
        "WORKFLOW#wf_future",
        attributes={"entity": {"S": "workflow"}, "title": {"S": "Future workflow"}, "steps": {"N": "3"}},
    )


def export_now(account: Account, *, receive_count: int = 1, asset_objects: Any = None, events: Any = None):
    """Requests an export and builds it at once, as the exporter would."""
    services = get_services()
    queue = KeptMessages()
    export = request_export(
        RequestExportDeps(
            exports=services.exports,
            rate_limiter=services.rate_limiter,
            queue=queue,
            clock=services.clock,
            settings=services.settings,
        ),
        account.id,
    )
    [message] = queue.take()
    assert message == ExportMessage(account_id=account.id, export_id=export.id)
    build_export(
        BuildExportDeps(
            exports=services.exports,
            privacy=services.privacy,
            accounts=services.accounts,
            asset_objects=asset_objects or services.asset_objects,
            export_objects=services.export_objects,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
            events=events,
        ),
        message,
        receive_count=receive_count,
    )
    return services.exports.get(account.id, export.id)


def purger(
    *,
    clock: Any = None,
    payments: RecordingPaymentProvider | None = None,
    inference: FakeProvider | None = None,
    checkpoint: Checkpoint | None = None,
    asset_objects: Any = None,
) -> Purger:
    services = get_services()
    payment_provider = payments or RecordingPaymentProvider()
    inference_provider = inference or FakeProvider()
    return Purger(
        privacy=services.privacy,
        accounts=services.accounts,
        jobs=services.jobs,
        wallets=services.wallets,
        payments=services.payments,
        asset_objects=asset_objects or services.asset_objects,
        export_objects=services.export_objects,
        public_media=services.public_media,
        payment_provider_for=lambda _name: payment_provider,  # type: ignore[arg-type,return-value]
        inference_provider_for=lambda _name: inference_provider,  # type: ignore[arg-type,return-value]
        mailer=services.mailer,
        sent_emails=services.sent_emails,
        clock=clock or MovedClock(),
        settings=services.settings,
        checkpoint=checkpoint,
    )


def schedule(account: Account, clock: Any = None):
    from atelier.usecases.schedule_deletion import ScheduleDeletionDeps, schedule_deletion

    services = get_services()
    return schedule_deletion(
        ScheduleDeletionDeps(
            privacy=services.privacy,
            accounts=services.accounts,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            public_media=services.public_media,
            clock=clock or services.clock,
            settings=services.settings,
        ),
        account.id,
    )


AFTER_THE_DEADLINE = MovedClock(timedelta(hours=73))


# -- looking everywhere ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    where: str
    what: str
    needle: str


def sweep_everything(endpoint_url: str, needles: Iterable[str]) -> list[Finding]:
    """Scans every table and lists every bucket (and reads every object) of the emulator, and
    answers each place one of the needles still appears. Scans are fine here: this is the test."""
    wanted = [needle for needle in needles if needle]
    findings: list[Finding] = []
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                text = json.dumps(item, sort_keys=True)
                findings += [Finding(table, _item_name(item), needle) for needle in wanted if needle in text]
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    for bucket in [entry["Name"] for entry in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                head = s3.head_object(Bucket=bucket, Key=entry["Key"])
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                text = entry["Key"] + json.dumps(head.get("Metadata", {}))
                findings += [
                    Finding(bucket, entry["Key"], needle)
                    for needle in wanted
                    if needle in text or needle.encode() in body
                ]
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            findings += [Finding(bucket, f"upload {upload['Key']}", n) for n in wanted if n in upload["Key"]]
    return findings


def _item_name(item: dict[str, Any]) -> str:
    return " ".join(
        str(next(iter(item[name].values()))) for name in ("PK", "SK", "ledger_id", "entry_id", "id") if name in item
    )


def scan_main_table(endpoint_url: str, table: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    return [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
