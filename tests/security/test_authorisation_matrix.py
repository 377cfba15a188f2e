"""Who may call what: every API route, called by every kind of caller, against real things owned by
the right account.

The rows are checked against the route table the stack serves (and the routes every handler
declares), both ways: a new route without a row fails here until someone decides who may call it,
and a row for a route that is gone fails too. Cells hold the status the contract (API.md) gives;
where it is silent, the row says what was chosen and why.

Personas (see tests/support/personas.py): anonymous; another signed-in account, pointed at the
owner's things; an admin (by the AdminEmails parameter), also pointed at the owner's things, since
the admin role is about moderation, not about reading people's libraries; the owner's session sent
from another site; the owner; a script calling with an API key; an account restricted by a lost
chargeback, and one whose deletion is scheduled. The last four act on things of their own. Someone
else's private thing is always 404, never 403: its existence is not confirmed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from atelier.api import openapi
from atelier.api.access import API_KEY_SCHEME
from atelier.api.cookies import SESSION_COOKIE
from atelier.clock import isoformat
from atelier.models.accounts import Account, Scope
from atelier.models.gallery import ReportReason, TargetType
from atelier.services import get_services
from atelier.usecases.open_session import open_session
from atelier.usecases.report_content import ReportContentDeps, report_content
from local.runtime import LocalRuntime
from tests.support.client import ApiClient
from tests.support.money import give_credits
from tests.support.personas import (
    ADMIN,
    ADMIN_EMAIL,
    ANONYMOUS,
    CROSS_SITE,
    DELETION_SCHEDULED,
    EMAILS,
    FOREIGN_ORIGIN,
    OTHER,
    OWNER,
    OWNING,
    PERSONAS,
    RESTRICTED,
    SCRIPT,
    SMALL_IMAGE,
    Holdings,
    Persona,
    buy_pack,
    restrict_by_chargeback,
    sign_up,
    with_api_key,
)
from tests.support.stack import running_stack
from tests.support.template import declared_routes, served_routes

Expected = int


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with running_stack(parameters={"AdminEmails": ADMIN_EMAIL}) as runtime:
        # Every cell is decided by the HTTP answer, given before any queued message is consumed; the
        # consumers' idle polling of the emulator would otherwise take a third of this module's CPU.
        for poller in runtime.pollers:
            poller.request_stop()
        for poller in runtime.pollers:
            poller.stop()
        yield runtime


# -- the world the calls are made in ------------------------------------------------------------------
@dataclass
class World:
    base_url: str
    personas: dict[str, Persona]
    holdings: dict[str, Holdings]
    terms_version: str
    report_id: str = ""
    throwaway_clients: list[ApiClient] = field(default_factory=list)

    @property
    def owner(self) -> Holdings:
        return self.holdings[OWNER]

    def second_session(self, persona: Persona) -> ApiClient:
        """Another session of the same account (a bare client for anonymous), for calls that end one."""
        client = ApiClient(self.base_url)
        self.throwaway_clients.append(client)
        if persona.account is not None:
            services = get_services()
            token, _session = open_session(
                persona.account, sessions=services.sessions, clock=services.clock, settings=services.settings
            )
            client.cookies[SESSION_COOKIE] = token
        return client


@dataclass(frozen=True)
class Cell:
    world: World
    persona: Persona

    @property
    def mine(self) -> Holdings:
        """The things this call addresses: the caller's own for a persona that owns things, else the
        owner's (which the caller must not reach)."""
        return self.world.holdings[self.persona.name if self.persona.name in OWNING else OWNER]

    @property
    def owner(self) -> Holdings:
        return self.world.owner


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    content: bytes | None = None
    # Made for this one call: a second session (for calls that end it) or a sign-in in flight.
    client: ApiClient | None = None


class Row(NamedTuple):
    # Every persona but those whose column follows from the owner's (see `expected_of`).
    expected: Mapping[str, Expected]
    build: Callable[[Cell], Call]
    # Webhooks: a signature is the credential, and cookies are not even read.
    reads_no_session: bool = False
    # What the script (an API key with every scope) gets when it is not what the owner gets: 403
    # session_required on what only a session may do.
    key: Expected | None = None


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Columns that follow from the owner's, so a row states them once.
LIKE_THE_OWNER = (CROSS_SITE, SCRIPT)


def expected_of(route: tuple[str, str], row: Row, persona: str) -> Expected:
    """An API key with every scope carries its account's rights except what needs a session (the
    account, its keys, email, consent, sessions, deletion, money settings, reports): the script gets
    what the owner gets, or the row's `key`. The owner's session sent by another site
    gets what the owner gets on a safe method, and 403 on an unsafe one (API.md: cookie-authenticated
    unsafe requests need an allowed Origin)."""
    method, _path = route
    if persona == SCRIPT:
        return row.key if row.key is not None else row.expected[OWNER]
    if persona == CROSS_SITE:
        return 403 if method in UNSAFE_METHODS and not row.reads_no_session else row.expected[OWNER]
    return row.expected[persona]


def at(path: str, json: Any = None) -> Callable[[Cell], Call]:
    return lambda _cell: Call(path, json)


def unsigned(path: str, content: bytes) -> Callable[[Cell], Call]:
    return lambda _cell: Call(path, content=content)


# -- who gets what -------------------------------------------------------------------------------------
def everyone(status: Expected) -> dict[str, Expected]:
    return dict.fromkeys((name for name in PERSONAS if name not in LIKE_THE_OWNER), status)


def signed_in_only(status: Expected) -> dict[str, Expected]:
    """About the caller's own account: anyone signed in, whatever the account's state."""
    return everyone(status) | {ANONYMOUS: 401}


def owner_only(status: Expected) -> dict[str, Expected]:
    """About one thing in an account: the other account and the admin get 404 for the owner's."""
    return signed_in_only(status) | {OTHER: 404, ADMIN: 404}


def while_active(expected: dict[str, Expected]) -> dict[str, Expected]:
    """Spending, publishing and sharing stop while an account is restricted or its deletion is
    scheduled (403 account_restricted / forbidden); reading, correcting, exporting and deleting do not."""
    return expected | {RESTRICTED: 403, DELETION_SCHEDULED: 403}


def admins_only(status: Expected) -> dict[str, Expected]:
    """Admin routes answer 404 to everyone else: they are not confirmed to exist."""
    return everyone(404) | {ADMIN: status}


def _definition() -> dict[str, Any]:
    return {"kind": "image", "model": "local-image", "prompt_template": "a {thing}", "params": SMALL_IMAGE}


def _callback_in_flight(cell: Cell) -> Call:
    """The identity provider's redirect back to a sign-in this caller started (anonymous: a newcomer
    signing up), sent from a copy of the caller's cookie jar so the new session stays out of it."""
    world, persona = cell.world, cell.persona
    client = ApiClient(world.base_url)
    client.cookies = dict(persona.client.cookies)
    world.throwaway_clients.append(client)
    approved = client.begin_sign_in(persona.email or "newcomer@example.com")
    assert approved.status_code == 302, approved.text
    target = urlsplit(approved.headers["location"])
    return Call(f"{target.path}?{target.query}", client=client)


def _logout(cell: Cell) -> Call:
    """Ends a second session of the caller's, so the caller's own stays for the calls after; a key
    has no session to end, so the script calls with its key."""
    if cell.persona.client.api_key:
        return Call("/v1/auth/logout")
    return Call("/v1/auth/logout", client=cell.world.second_session(cell.persona))


def _report_target(cell: Cell) -> dict[str, Any]:
    owner = cell.owner
    return {
        "target_type": "asset",
        "target_id": owner.asset("public", public=True),
        "reason": "spam",
    }


def _preflight_paths() -> list[str]:
    return sorted(route.path for route in declared_routes() if route.method == "OPTIONS")


def _any_values(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


UNSIGNED_PAYMENT_EVENT = b'{"id": "evt_unsigned", "type": "checkout.session.completed", "data": {"object": {}}}'

# Rows run in this order. The last four change the caller's own state (deletion, sessions), so they
# come after everything else; DELETE /v1/me/deletion then finds every signed-in account scheduled.
MATRIX: dict[tuple[str, str], Row] = {
    # -- public: no sign-in, the same for everyone -------------------------------------------------
    ("GET", "/v1/health"): Row(everyone(200), at("/v1/health")),
    ("GET", "/v1/openapi.json"): Row(everyone(200), at("/v1/openapi.json")),
    ("GET", "/v1/docs"): Row(everyone(200), at("/v1/docs")),
    ("GET", "/v1/models"): Row(everyone(200), at("/v1/models")),
    ("GET", "/v1/billing/catalog"): Row(everyone(200), at("/v1/billing/catalog")),
    ("GET", "/v1/policies/{kind}"): Row(everyone(200), at("/v1/policies/terms")),
    ("GET", "/v1/gallery"): Row(everyone(200), at("/v1/gallery")),
    # A link shows its one item to anyone holding it.
    ("GET", "/v1/s/{token}"): Row(everyone(200), lambda c: Call(f"/v1/s/{c.owner.share('open').token}")),
    # The share page (HTML) of the same link.
    ("GET", "/s/{token}"): Row(everyone(200), lambda c: Call(f"/s/{c.owner.share('open').token}")),
    # CORS preflights are answered before any route runs and read no credentials: the same for all.
    **{("OPTIONS", path): Row(everyone(204), at(_any_values(path))) for path in _preflight_paths()},
    ("GET", "/v1/billing/return/{provider}"): Row(everyone(302), at("/v1/billing/return/stripe")),
    ("GET", "/v1/auth/login"): Row(everyone(302), at("/v1/auth/login?redirect_to=/")),
    ("GET", "/v1/auth/callback"): Row(everyone(302), _callback_in_flight),
    # -- webhooks: the signature is the only credential; a session confers nothing ------------------
    **{
        ("POST", path): Row(everyone(400), unsigned(path, UNSIGNED_PAYMENT_EVENT), reads_no_session=True)
        for path in ("/v1/webhooks/stripe", "/v1/webhooks/paypal", "/v1/webhooks/creem")
    },
    ("POST", "/v1/webhooks/providers/{provider}"): Row(
        everyone(400), unsigned("/v1/webhooks/providers/local", b'{"id": "pj_unsigned"}'), reads_no_session=True
    ),
    # -- the account: the caller's own, whatever its state ----------------------------------------
    ("GET", "/v1/me"): Row(signed_in_only(200), at("/v1/me")),
    # The right to rectification holds for restricted and leaving accounts too.
    ("PATCH", "/v1/me"): Row(signed_in_only(200), at("/v1/me", {"name": "Renamed Person"}), key=403),
    # Confirming a new address: the token is looked up in the caller's own account only, so any
    # token but the caller's own (here a made-up one) is refused as invalid.
    ("POST", "/v1/me/email-confirmations"): Row(
        signed_in_only(422), at("/v1/me/email-confirmations", {"token": "not-a-token"}), key=403
    ),
    # Withdrawing consent is always possible.
    ("PUT", "/v1/me/consent"): Row(signed_in_only(200), at("/v1/me/consent", {"analytics": False}), key=403),
    # The upload is looked up among the caller's own only, so a made-up one is not found for anyone.
    ("PUT", "/v1/me/picture"): Row(
        signed_in_only(404), at("/v1/me/picture", {"upload_id": "upl_0000000000000000000000"}), key=403
    ),
    # Removing one's picture is always possible, like any correction of one's own data.
    ("DELETE", "/v1/me/picture"): Row(signed_in_only(200), at("/v1/me/picture"), key=403),
    ("POST", "/v1/me/terms"): Row(
        signed_in_only(200),
        lambda c: Call("/v1/me/terms", {"version": c.world.terms_version, "age_confirmed": True}),
        key=403,
    ),
    ("GET", "/v1/me/api-keys"): Row(signed_in_only(200), at("/v1/me/api-keys"), key=403),
    # API.md is silent on keys for restricted or leaving accounts; a key carries no more rights than
    # the session that made it (spending stays refused), so making one is not refused.
    ("POST", "/v1/me/api-keys"): Row(signed_in_only(201), at("/v1/me/api-keys", {"name": "ci"}), key=403),
    ("DELETE", "/v1/me/api-keys/{api_key_id}"): Row(
        owner_only(204), lambda c: Call(f"/v1/me/api-keys/{c.mine.api_key('revoke')}"), key=403
    ),
    ("GET", "/v1/workspaces"): Row(signed_in_only(200), at("/v1/workspaces")),
    # Silent in API.md: organising one's own private library spends nothing and publishes nothing.
    ("POST", "/v1/workspaces"): Row(signed_in_only(201), at("/v1/workspaces", {"name": "Drafts"})),
    ("GET", "/v1/workspaces/{workspace_id}"): Row(
        owner_only(200), lambda c: Call(f"/v1/workspaces/{c.mine.workspace('read')}")
    ),
    ("PATCH", "/v1/workspaces/{workspace_id}"): Row(
        owner_only(200), lambda c: Call(f"/v1/workspaces/{c.mine.workspace('read')}", {"name": "Renamed"})
    ),
    ("DELETE", "/v1/workspaces/{workspace_id}"): Row(
        owner_only(204), lambda c: Call(f"/v1/workspaces/{c.mine.workspace('delete')}")
    ),
    # "Download my data" is a right that neither a restriction nor a deletion countdown takes away; a
    # key needs `account:export` (see OPT_IN_SCOPES).
    ("POST", "/v1/me/exports"): Row(signed_in_only(202), at("/v1/me/exports")),
    ("GET", "/v1/me/exports"): Row(signed_in_only(200), at("/v1/me/exports")),
    ("GET", "/v1/me/exports/{export_id}"): Row(
        owner_only(200), lambda c: Call(f"/v1/me/exports/{c.mine.export('read')}")
    ),
    ("GET", "/v1/me/deletion"): Row(signed_in_only(200), at("/v1/me/deletion"), key=403),
    # -- webhook endpoints: an account's own integration settings, in any state; a key needs
    # `webhooks:read` or `webhooks:write` (see OPT_IN_SCOPES) ------------------------------------------
    ("GET", "/v1/webhook-endpoints"): Row(signed_in_only(200), at("/v1/webhook-endpoints")),
    ("POST", "/v1/webhook-endpoints"): Row(
        signed_in_only(201),
        at("/v1/webhook-endpoints", {"url": "https://hooks.example.com/in", "events": ["job.succeeded"]}),
    ),
    ("GET", "/v1/webhook-endpoints/default/secret"): Row(
        signed_in_only(200),
        at("/v1/webhook-endpoints/default/secret"),
    ),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): Row(
        owner_only(200),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('read')}"),
    ),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): Row(
        owner_only(200),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('read')}", {"description": "ci"}),
    ),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): Row(
        owner_only(204),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('delete')}"),
    ),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): Row(
        owner_only(200),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('rotate')}/rotate-secret"),
    ),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): Row(
        owner_only(200),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('read')}/deliveries"),
    ),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Row(
        owner_only(202),
        lambda c: Call(
            "/v1/webhook-endpoints/{}/deliveries/{}/redeliver".format(*c.mine.webhook_delivery("redeliver"))
        ),
    ),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): Row(
        owner_only(202),
        lambda c: Call(f"/v1/webhook-endpoints/{c.mine.webhook_endpoint('read')}/test"),
    ),
    # -- credits -----------------------------------------------------------------------------------
    ("GET", "/v1/billing/balance"): Row(signed_in_only(200), at("/v1/billing/balance")),
    # A cap only limits spending, so it may be set in any state.
    ("PUT", "/v1/billing/spend-cap"): Row(
        signed_in_only(200), at("/v1/billing/spend-cap", {"monthly_credits": 100_000}), key=403
    ),
    ("GET", "/v1/billing/ledger"): Row(signed_in_only(200), at("/v1/billing/ledger")),
    ("GET", "/v1/billing/subscription"): Row(signed_in_only(200), at("/v1/billing/subscription")),
    # A restricted account buys its balance back above zero, which lifts the restriction; an account
    # being deleted cannot buy.
    ("POST", "/v1/billing/checkout"): Row(
        signed_in_only(201) | {DELETION_SCHEDULED: 403},
        at("/v1/billing/checkout", {"item_id": "pack_starter", "provider": "stripe"}),
        key=403,
    ),
    # -- generation and the library ----------------------------------------------------------------
    # A reference upload is private and spends nothing; generating with it is what is refused.
    ("POST", "/v1/uploads"): Row(
        signed_in_only(201),
        at("/v1/uploads", {"filename": "ref.png", "content_type": "image/png", "size_bytes": 1000}),
    ),
    ("POST", "/v1/jobs"): Row(
        while_active(signed_in_only(202)),
        at("/v1/jobs", {"kind": "image", "model": "local-image", "prompt": "a kite", "params": SMALL_IMAGE}),
    ),
    ("GET", "/v1/jobs"): Row(signed_in_only(200), at("/v1/jobs")),
    ("GET", "/v1/jobs/{job_id}"): Row(owner_only(200), lambda c: Call(f"/v1/jobs/{c.mine.job('read')}")),
    # Cancelling releases a hold: it gives credits back, so it is never refused to the owner.
    ("POST", "/v1/jobs/{job_id}/cancel"): Row(
        owner_only(200), lambda c: Call(f"/v1/jobs/{c.mine.job('cancel')}/cancel")
    ),
    ("GET", "/v1/assets"): Row(signed_in_only(200), at("/v1/assets")),
    ("GET", "/v1/assets/{asset_id}"): Row(owner_only(200), lambda c: Call(f"/v1/assets/{c.mine.asset('read')}")),
    ("PATCH", "/v1/assets/{asset_id}"): Row(
        while_active(owner_only(200)),
        lambda c: Call(f"/v1/assets/{c.mine.asset('publish')}", {"visibility": "public"}),
    ),
    ("DELETE", "/v1/assets/{asset_id}"): Row(owner_only(204), lambda c: Call(f"/v1/assets/{c.mine.asset('delete')}")),
    # -- workflows ---------------------------------------------------------------------------------
    # Private recipes spend and publish nothing, so saving, versioning and forking one's own are not
    # refused to a restricted or leaving account (API.md is silent); running and publishing are.
    ("POST", "/v1/workflows"): Row(
        signed_in_only(201), at("/v1/workflows", {"name": "Recipe", "definition": _definition()})
    ),
    ("GET", "/v1/workflows"): Row(signed_in_only(200), at("/v1/workflows")),
    # A public read path: a private workflow is 404 to anyone but its owner, signed in or not.
    ("GET", "/v1/workflows/{workflow_id}"): Row(
        everyone(404) | dict.fromkeys(OWNING, 200), lambda c: Call(f"/v1/workflows/{c.mine.workflow('read')}")
    ),
    ("PATCH", "/v1/workflows/{workflow_id}"): Row(
        while_active(owner_only(200)),
        lambda c: Call(f"/v1/workflows/{c.mine.workflow('publish')}", {"visibility": "public"}),
    ),
    ("POST", "/v1/workflows/{workflow_id}/fork"): Row(
        owner_only(201), lambda c: Call(f"/v1/workflows/{c.mine.workflow('read')}/fork", {})
    ),
    ("GET", "/v1/workflows/{workflow_id}/versions"): Row(
        owner_only(200), lambda c: Call(f"/v1/workflows/{c.mine.workflow('read')}/versions")
    ),
    ("POST", "/v1/workflows/{workflow_id}/versions"): Row(
        owner_only(201),
        lambda c: Call(
            f"/v1/workflows/{c.mine.workflow('read')}/versions", {"definition": _definition(), "note": "tweak"}
        ),
    ),
    ("POST", "/v1/workflows/{workflow_id}/versions/{version}/jobs"): Row(
        while_active(owner_only(202)),
        lambda c: Call(f"/v1/workflows/{c.mine.workflow('read')}/versions/1/jobs", {"variables": {"thing": "fox"}}),
    ),
    # -- shares and reports ------------------------------------------------------------------------
    ("POST", "/v1/shares"): Row(
        while_active(owner_only(201)),
        lambda c: Call("/v1/shares", {"target_type": "asset", "target_id": c.mine.asset("share")}),
    ),
    ("GET", "/v1/shares"): Row(signed_in_only(200), at("/v1/shares")),
    # Revoking only ever hides something, so it is never refused to the owner.
    ("DELETE", "/v1/shares/{share_id}"): Row(
        owner_only(204), lambda c: Call(f"/v1/shares/{c.mine.share('revoke').id}")
    ),
    # Anyone signed in may report public content (P7), the owner's one public asset here.
    ("POST", "/v1/reports"): Row(signed_in_only(201), lambda c: Call("/v1/reports", _report_target(c)), key=403),
    # One's own reports are read with a session only, like the rest of the account's records.
    ("GET", "/v1/me/reports"): Row(signed_in_only(200), at("/v1/me/reports"), key=403),
    # -- admin -------------------------------------------------------------------------------------
    ("GET", "/v1/admin/reports"): Row(admins_only(200), at("/v1/admin/reports?status=open")),
    ("GET", "/v1/admin/reports/{report_id}"): Row(
        admins_only(200), lambda c: Call(f"/v1/admin/reports/{c.world.report_id}")
    ),
    ("GET", "/v1/admin/audit"): Row(admins_only(200), at("/v1/admin/audit")),
    ("POST", "/v1/admin/reports/{report_id}/resolve"): Row(
        admins_only(200),
        lambda c: Call(f"/v1/admin/reports/{c.world.report_id}/resolve", {"action": "dismiss", "note": "checked"}),
    ),
    # Only a moderator lifts a suspension (P19); the owner is not suspended, so the admin's is a conflict.
    ("POST", "/v1/admin/accounts/{account_id}/lift-suspension"): Row(
        admins_only(409),
        lambda c: Call(f"/v1/admin/accounts/{c.owner.account.id}/lift-suspension", {"note": "appeal"}),
    ),
    ("POST", "/v1/admin/policies"): Row(
        admins_only(201),
        at(
            "/v1/admin/policies",
            {
                "kind": "privacy",
                "version": "matrix-1",
                "summary": "Clearer wording.",
                "material": False,
                "effective_at": isoformat(datetime.now(UTC) + timedelta(days=30)),
            },
        ),
    ),
    # -- last: calls that change the caller's own state --------------------------------------------
    # Asking to be deleted is always possible, but once is enough.
    ("POST", "/v1/me/deletion"): Row(signed_in_only(202) | {DELETION_SCHEDULED: 409}, at("/v1/me/deletion"), key=403),
    ("DELETE", "/v1/me/deletion"): Row(signed_in_only(200), at("/v1/me/deletion"), key=403),
    ("POST", "/v1/auth/logout"): Row(everyone(204), _logout),
    ("POST", "/v1/auth/logout-all"): Row(signed_in_only(204), at("/v1/auth/logout-all"), key=403),
}


# Routes a key may call only with a scope no key holds unless it was named when the key was made
# (the defaults are `generate` and `library:read`): the script above holds every scope; a key
# holding every scope but the route's own is refused 403 `insufficient_scope` naming it.
OPT_IN_SCOPES: dict[tuple[str, str], Scope] = {
    ("POST", "/v1/me/exports"): Scope.ACCOUNT_EXPORT,
    ("GET", "/v1/me/exports"): Scope.ACCOUNT_EXPORT,
    ("GET", "/v1/me/exports/{export_id}"): Scope.ACCOUNT_EXPORT,
    ("GET", "/v1/webhook-endpoints"): Scope.WEBHOOKS_READ,
    ("GET", "/v1/webhook-endpoints/default/secret"): Scope.WEBHOOKS_READ,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): Scope.WEBHOOKS_READ,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): Scope.WEBHOOKS_READ,
    ("POST", "/v1/webhook-endpoints"): Scope.WEBHOOKS_WRITE,
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): Scope.WEBHOOKS_WRITE,
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): Scope.WEBHOOKS_WRITE,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): Scope.WEBHOOKS_WRITE,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Scope.WEBHOOKS_WRITE,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): Scope.WEBHOOKS_WRITE,
}


# -- building the world --------------------------------------------------------------------------------
def build_world(stack: LocalRuntime) -> World:
    personas = {ANONYMOUS: Persona(ANONYMOUS, ApiClient(stack.api_url))}
    for name in (OTHER, ADMIN, OWNER, SCRIPT, RESTRICTED, DELETION_SCHEDULED):
        client, account = sign_up(stack.api_url, EMAILS[name])
        personas[name] = Persona(name, client, account)
    for name in (OTHER, ADMIN, OWNER, SCRIPT, DELETION_SCHEDULED):
        give_credits(_account(personas[name]), 1_000)
    script = personas[SCRIPT]
    script.client.close()
    script.client = with_api_key(stack.api_url, _account(script))
    owner = personas[OWNER]
    cross_site = ApiClient(stack.api_url)
    cross_site.cookies = dict(owner.client.cookies)
    personas[CROSS_SITE] = Persona(CROSS_SITE, cross_site, owner.account, origin=FOREIGN_ORIGIN)
    terms_version = personas[OWNER].client.get("/v1/policies/terms").json()["version"]
    holdings = {name: Holdings(_account(personas[name])) for name in OWNING}
    return World(stack.api_url, personas, holdings, terms_version)


def _account(persona: Persona) -> Account:
    assert persona.account is not None
    return persona.account


def open_report(world: World) -> str:
    """A report on one of the owner's public assets, for the admin to resolve."""
    services = get_services()
    report = report_content(
        ReportContentDeps.from_services(services),
        _account(world.personas[OTHER]).id,
        TargetType.ASSET,
        world.owner.asset("reported", public=True),
        ReportReason.VIOLENCE,
        None,
    )
    return report.id


def _summary(outcomes: Counter[int], routes: int) -> str:
    cells = sum(outcomes.values())
    counts = ", ".join(f"{status}: {count}" for status, count in sorted(outcomes.items()))
    return f"authorisation matrix: {routes} routes x {len(PERSONAS)} personas = {cells} cells ({counts})"


# -- the tests -----------------------------------------------------------------------------------------
def test_every_route_has_a_row_and_every_row_a_route(stack: LocalRuntime) -> None:
    served_by_stack = {(method, path) for method, path, _function in stack.routes}
    declared_by_handlers = {(route.method, route.path) for route in served_routes()}
    rows = set(MATRIX)

    assert served_by_stack - rows == set(), "routes without a row in the authorisation matrix"
    assert declared_by_handlers - rows == set(), "handler routes without a row in the authorisation matrix"
    assert rows - served_by_stack == set(), "rows for routes the stack does not serve"
    for route, row in MATRIX.items():
        assert set(row.expected) | set(LIKE_THE_OWNER) == set(PERSONAS), route


def test_every_persona_gets_exactly_what_the_contract_allows_on_every_route(stack: LocalRuntime) -> None:
    # Given every persona, and every call prepared against real things while all accounts are active
    world = build_world(stack)
    restricted_purchase = buy_pack(_account(world.personas[RESTRICTED]))
    world.report_id = open_report(world)
    calls = {
        (route, name): row.build(Cell(world, world.personas[name]))
        for route, row in MATRIX.items()
        for name in PERSONAS
    }
    # ...then one account restricted by a lost chargeback and another's deletion scheduled
    restrict_by_chargeback(_account(world.personas[RESTRICTED]), restricted_purchase)
    scheduled = world.personas[DELETION_SCHEDULED].client.post("/v1/me/deletion")
    assert scheduled.status_code == 202, scheduled.text

    # When each persona makes each call
    outcomes: Counter[int] = Counter()
    wrong: list[str] = []
    try:
        for route, row in MATRIX.items():
            method, _path = route
            for name in PERSONAS:
                persona, call, expected = world.personas[name], calls[(route, name)], expected_of(route, row, name)
                client = call.client or persona.client
                answer = client.request(method, call.path, json=call.json, content=call.content, origin=persona.origin)
                outcomes[answer.status_code] += 1
                if answer.status_code != expected:
                    wrong.append(
                        f"{method} {route[1]} as {name}: expected {expected}, got {answer.status_code}"
                        f" {answer.text[:160]}"
                    )
    finally:
        for client in [*(persona.client for persona in world.personas.values()), *world.throwaway_clients]:
            client.close()

    # Then every cell is what the contract says
    print(_summary(outcomes, len(MATRIX)))
    assert not wrong, "\n".join(wrong)


def test_taking_an_admins_email_address_does_not_make_an_admin(stack: LocalRuntime) -> None:
    # Given an ordinary account
    client, _account_made = sign_up(stack.api_url, "hopeful@example.com")

    # When it corrects its email to an admin's address, in any letter case
    answer = client.request("PATCH", "/v1/me", json={"email": ADMIN_EMAIL.upper()})

    # Then the change is refused and the admin routes still do not exist for it
    assert answer.status_code == 403, answer.text
    assert client.get("/v1/me").json()["email"] == "hopeful@example.com"
    assert client.get("/v1/admin/reports").status_code == 404
    client.close()


def test_the_opt_in_scopes_are_the_ones_the_document_names() -> None:
    opt_in = {scope.value for scope in OPT_IN_SCOPES.values()}
    documented = {
        (method.upper(), path): scope
        for path, operations in openapi.load_document()["paths"].items()
        for method, operation in operations.items()
        for requirement in operation["security"]
        for scope in requirement.get(API_KEY_SCHEME, [])
        if scope in opt_in
    }
    assert documented == {route: scope.value for route, scope in OPT_IN_SCOPES.items()}


def test_a_key_without_the_opt_in_scope_is_refused_naming_it_and_nothing_changes(stack: LocalRuntime) -> None:
    # Given an account with webhook endpoints, a delivery and a finished export, a key with every
    # scope, and for each opt-in scope a key with every scope but that one
    browser, account = sign_up(stack.api_url, "scoped-script@example.com")
    browser.close()
    holdings = {SCRIPT: Holdings(account)}
    everything = with_api_key(stack.api_url, account)
    lacking = {
        scope: with_api_key(stack.api_url, account, frozenset(Scope) - {scope}) for scope in set(OPT_IN_SCOPES.values())
    }
    world = World(stack.api_url, {SCRIPT: Persona(SCRIPT, everything, account)}, holdings, terms_version="")
    calls = {
        route: MATRIX[route].build(Cell(world, Persona(SCRIPT, lacking[scope], account)))
        for route, scope in OPT_IN_SCOPES.items()
    }
    endpoints_before = everything.get("/v1/webhook-endpoints").json()

    # When each route is called with the key lacking its scope
    wrong: list[str] = []
    try:
        for (method, path), call in calls.items():
            scope = OPT_IN_SCOPES[(method, path)]
            answer = lacking[scope].request(method, call.path, json=call.json)
            error = answer.json().get("error") or {}
            if (answer.status_code, error.get("code"), error.get("details")) != (
                403,
                "insufficient_scope",
                {"required_scope": scope.value},
            ):
                wrong.append(f"{method} {path} without {scope.value}: {answer.status_code} {answer.text[:160]}")

        # Then each is refused naming the scope, nothing changed, and the key with the scope may
        assert not wrong, "\n".join(wrong)
        assert everything.get("/v1/webhook-endpoints").json() == endpoints_before
        assert everything.post("/v1/me/exports").status_code == 202
    finally:
        for client in [everything, *lacking.values()]:
            client.close()
