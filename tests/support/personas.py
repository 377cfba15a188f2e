"""The cast of an authorisation check, and the real things each of them owns.

Eight kinds of caller: nobody signed in, another account, an admin, the owner's own browser sent by
another site (the owner's session cookie with a foreign Origin), the owner, a script (an account
calling with an API key only), an account restricted after a lost chargeback, and an account whose
deletion is scheduled. Everything an account owns is
made through the domain code (the same use cases and repositories the handlers call), so ids are
real and owned; the restricted account is restricted by a real dispute clawing back credits it had
already spent, and the deletion is scheduled through the API itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from atelier import tokens
from atelier.data.jobs import asset_item
from atelier.ids import IdPrefix, new_id
from atelier.integrations.payments.base import PaymentEventKind
from atelier.models.accounts import Account, AccountStatus, Principal, PrincipalKind, Scope
from atelier.models.gallery import Share, TargetType, WorkflowDefinition
from atelier.models.generation import Asset, Visibility
from atelier.models.privacy import Export, ExportStatus
from atelier.models.webhooks import DeliveryStatus, WebhookEventType
from atelier.services import get_services
from atelier.usecases.create_api_key import CreateApiKeyDeps, create_api_key
from atelier.usecases.deliver_webhooks import WebhookEvents
from atelier.usecases.handle_payment_event import Outcome
from atelier.usecases.manage_assets import UpdateAssetDeps, update_asset
from atelier.usecases.manage_webhooks import create_endpoint, send_test_event
from atelier.usecases.manage_workflows import create_workflow
from atelier.usecases.manage_workspaces import create_workspace
from atelier.usecases.submit_job import JobSubmission, submit_job
from tests.support.client import ApiClient, signed_in
from tests.support.generation import KeptMessages, png_bytes, submit_job_deps
from tests.support.payment_events import handle_event, pack_purchase, reversal

ANONYMOUS = "anonymous"
OTHER = "other"
ADMIN = "admin"
OWNER = "owner"
RESTRICTED = "restricted"
DELETION_SCHEDULED = "deletion_scheduled"
CROSS_SITE = "cross_site"
SCRIPT = "script"

# Outsiders call first: an owner's destructive call (delete, revoke, cancel) then comes after every
# other persona has tried the same item, so an outsider who wrongly succeeds shows up as a failure.
PERSONAS = (ANONYMOUS, OTHER, ADMIN, CROSS_SITE, OWNER, SCRIPT, RESTRICTED, DELETION_SCHEDULED)
# Personas that act on things of their own; the others are pointed at the owner's.
OWNING = (OWNER, SCRIPT, RESTRICTED, DELETION_SCHEDULED)

ADMIN_EMAIL = "moderator@example.com"
FOREIGN_ORIGIN = "https://attacker.example"
EMAILS = {
    OTHER: "other@example.com",
    ADMIN: ADMIN_EMAIL,
    OWNER: "owner@example.com",
    SCRIPT: "script@example.com",
    RESTRICTED: "disputed@example.com",
    DELETION_SCHEDULED: "leaving@example.com",
}

# The cheapest real generation: the CPU renderer at its smallest size.
SMALL_IMAGE = {"width": 64, "height": 64}
WORKFLOW_DEFINITION = WorkflowDefinition(
    kind="image", model="local-image", prompt_template="a {thing} at dusk", params=SMALL_IMAGE
)


@dataclass
class Persona:
    name: str
    client: ApiClient
    account: Account | None = None
    # The Origin sent on unsafe requests: "self" is the API's own, as a browser on the studio sends.
    origin: str = "self"

    @property
    def email(self) -> str | None:
        return self.account.email if self.account else None


def with_api_key(base_url: str, account: Account, scopes: frozenset[Scope] = frozenset(Scope)) -> ApiClient:
    """A client that authenticates with a new API key of the account's, with every scope unless
    others are named, and carries no cookie."""
    services = get_services()
    created = create_api_key(CreateApiKeyDeps.from_services(services), account.id, "automation", scopes)
    return ApiClient(base_url, api_key=created.key)


def sign_up(base_url: str, email: str) -> tuple[ApiClient, Account]:
    """Signs in through the identity provider and accepts the terms in force, as a new user does."""
    client = signed_in(base_url, email)
    version = client.get("/v1/policies/terms").json()["version"]
    accepted = client.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
    assert accepted.status_code == 200, accepted.text
    account = get_services().accounts.require(client.get("/v1/me").json()["id"])
    return client, account


@dataclass
class PackPurchase:
    payment_key: str


def buy_pack(account: Account) -> PackPurchase:
    """A starter pack paid at the provider, as its webhook reports it."""
    purchase = PackPurchase(payment_key=new_id(IdPrefix.CHECKOUT))
    outcome = handle_event(pack_purchase(account.id, purchase.payment_key), mailer=get_services().mailer)
    assert outcome is Outcome.GRANTED, outcome
    return purchase


def lose_dispute(account: Account, purchase: PackPurchase) -> None:
    """Spends what is left of the balance, then loses a dispute over the pack: the clawback takes the
    balance below zero."""
    wallets, now = get_services().wallets, datetime.now(UTC)
    left = wallets.get(account.id).balance
    if left > 0:
        wallets.hold(account.id, account.ledger_id, "job_spent_before_dispute", left, now, generation_kind="image")
        wallets.settle(account.id, account.ledger_id, "job_spent_before_dispute", left, now)
    dispute = reversal(purchase.payment_key, f"dp_{purchase.payment_key}", kind=PaymentEventKind.DISPUTE)
    outcome = handle_event(dispute, mailer=get_services().mailer)
    assert outcome is Outcome.CLAWED_BACK, outcome


def restrict_by_chargeback(account: Account, purchase: PackPurchase) -> None:
    """A lost dispute after the credits were spent, which restricts the account."""
    lose_dispute(account, purchase)
    assert get_services().accounts.require(account.id).status is AccountStatus.RESTRICTED


@dataclass(frozen=True)
class MadeShare:
    id: str
    token: str


@dataclass
class Holdings:
    """Real things one account owns, each made once per purpose: `asset("read")` and
    `asset("delete")` are two different assets, and asking twice for the same one returns it."""

    account: Account
    _made: dict[tuple[str, str], object] = field(default_factory=dict)

    def _once(self, kind: str, purpose: str, make: Callable[[], object]) -> object:
        key = (kind, purpose)
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def asset(self, purpose: str, *, public: bool = False) -> str:
        return str(self._once("asset", purpose, lambda: self._make_asset(public)))

    def job(self, purpose: str) -> str:
        return str(self._once("job", purpose, self._make_job))

    def workflow(self, purpose: str) -> str:
        return str(self._once("workflow", purpose, self._make_workflow))

    def share(self, purpose: str) -> MadeShare:
        made = self._once("share", purpose, self._make_share)
        assert isinstance(made, MadeShare)
        return made

    def workspace(self, purpose: str) -> str:
        return str(self._once("workspace", purpose, self._make_workspace))

    def api_key(self, purpose: str) -> str:
        return str(self._once("api_key", purpose, self._make_api_key))

    def export(self, purpose: str) -> str:
        return str(self._once("export", purpose, self._make_export))

    def webhook_endpoint(self, purpose: str) -> str:
        return str(self._once("webhook_endpoint", purpose, self._make_webhook_endpoint))

    def webhook_delivery(self, purpose: str) -> tuple[str, str]:
        """(endpoint id, message id) of a delivered event, which may be redelivered."""
        made = self._once("webhook_delivery", purpose, self._make_webhook_delivery)
        assert isinstance(made, tuple)
        return made

    # -- how each is made ------------------------------------------------------------------------
    def _make_asset(self, public: bool) -> str:
        """A stored output, written as the worker writes one; published through the use case."""
        services, account = get_services(), self.account
        asset = Asset(
            id=new_id(IdPrefix.ASSET),
            account_id=account.id,
            workspace_id=account.default_workspace_id,
            job_id=None,
            kind="image",
            content_type="image/png",
            size_bytes=100,
            sha256="ab" * 32,
            object_key="",
            created_at=datetime.now(UTC),
            screened_at=datetime.now(UTC),
        )
        asset = asset.model_copy(update={"object_key": f"accounts/{account.id}/outputs/job_x/{asset.id}.png"})
        services.asset_storage.put(asset.object_key, png_bytes(), "image/png")
        asset_item(asset).save()
        if public:
            update_asset(
                UpdateAssetDeps.from_services(services),
                account.id,
                asset.id,
                labels=None,
                rating=None,
                clear_rating=False,
                visibility=Visibility.PUBLIC,
            )
        return asset.id

    def _make_job(self) -> str:
        """A submitted job that stays queued: its message is kept back from the worker."""
        account = self.account
        submitted = submit_job(
            submit_job_deps(queue=KeptMessages()),
            Principal(
                kind=PrincipalKind.ACCOUNT,
                account_id=account.id,
                via="session",
                ledger_id=account.ledger_id,
                default_workspace_id=account.default_workspace_id,
            ),
            JobSubmission(
                kind="image",
                model="local-image",
                prompt="a lighthouse",
                negative_prompt=None,
                params=dict(SMALL_IMAGE),
                reference_upload_ids=[],
            ),
            workspace_id=None,
            idempotency_key=None,
        )
        return submitted.job.id

    def _make_workflow(self) -> str:
        services = get_services()
        view = create_workflow(
            self.account.id,
            "Dusk",
            None,
            WORKFLOW_DEFINITION,
            workflows=services.workflows,
            clock=services.clock,
            settings=services.settings,
        )
        return view.workflow.id

    def _make_share(self) -> MadeShare:
        services, token = get_services(), tokens.new_token()
        share = Share(
            id=new_id(IdPrefix.SHARE),
            account_id=self.account.id,
            target_type=TargetType.ASSET,
            target_id=self.asset(f"shared-{new_id(IdPrefix.SHARE)}"),
            created_at=datetime.now(UTC),
        )
        services.shares.create(share, tokens.hash_token(token))
        return MadeShare(id=share.id, token=token)

    def _make_workspace(self) -> str:
        services = get_services()
        workspace = create_workspace(
            self.account.id,
            "Side project",
            workspaces=services.workspaces,
            clock=services.clock,
            settings=services.settings,
        )
        return workspace.id

    def _make_api_key(self) -> str:
        services = get_services()
        created = create_api_key(CreateApiKeyDeps.from_services(services), self.account.id, "script")
        return created.api_key.id

    def _make_export(self) -> str:
        """A finished export with an archive to download: the most sensitive thing an account has."""
        exports, now = get_services().exports, datetime.now(UTC)
        export = Export(
            id=new_id(IdPrefix.EXPORT), account_id=self.account.id, status=ExportStatus.QUEUED, requested_at=now
        )
        exports.create(export, stale_at=now + timedelta(hours=1))
        assert exports.start(self.account.id, export.id, now) is not None
        finished = exports.finish(
            self.account.id,
            export.id,
            object_key=f"exports/{self.account.id}/{export.id}.zip",
            size_bytes=100,
            available_until=now + timedelta(days=7),
            now=now,
        )
        assert finished
        return export.id

    def _make_webhook_endpoint(self) -> str:
        services = get_services()
        endpoint = create_endpoint(
            self.account.id,
            url="https://hooks.example.com/in",
            events=[WebhookEventType.JOB_SUCCEEDED],
            description="",
            enabled=True,
            include_prompt=False,
            webhooks=services.webhooks,
            clock=services.clock,
            settings=services.settings,
        )
        return endpoint.id

    def _make_webhook_delivery(self) -> tuple[str, str]:
        services = get_services()
        endpoint_id = self.webhook_endpoint("deliveries")
        events = WebhookEvents(services.webhooks, KeptMessages(), services.clock)  # type: ignore[arg-type]
        delivery = send_test_event(self.account.id, endpoint_id, events=events)
        assert services.webhooks.record_attempt(
            delivery,
            status=DeliveryStatus.DELIVERED,
            now=datetime.now(UTC),
            response_status=200,
            error=None,
            next_attempt_at=None,
        )
        return endpoint_id, delivery.id
