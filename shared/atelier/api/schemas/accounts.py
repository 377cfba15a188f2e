"""HTTP shapes of sign-in, the account, consent, policies, API keys and workspaces."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from atelier.api.schemas.common import DisplayText, EmailAddress, MustBeTrue, StrictRequest
from atelier.clock import isoformat
from atelier.models.accounts import Account, ApiKey, Consent, PolicyVersion, Preferences, Scope, Workspace


class ConsentBody(BaseModel):
    analytics: bool
    product_improvement: bool
    marketing_emails: bool

    @classmethod
    def of(cls, consent: Consent) -> ConsentBody:
        return cls(**consent.model_dump())


class PreferencesBody(BaseModel):
    theme: Literal["system", "light", "dark"] = "system"

    def to_domain(self) -> Preferences:
        return Preferences(theme=self.theme)


class MeResponse(BaseModel):
    id: str
    email: str
    name: str
    picture_url: str | None
    created_at: str
    status: Literal["active", "restricted", "suspended", "deletion_scheduled"]
    age_confirmed: bool
    terms_version: str | None
    consent: ConsentBody
    preferences: PreferencesBody
    default_workspace_id: str
    pending_email: str | None = Field(
        default=None,
        description="A new address asked for with PATCH /v1/me, in effect once confirmed from the link sent to it.",
    )
    avatar_url: str | None = Field(
        default=None,
        description=(
            "A short-lived link to the profile picture the person uploaded (PUT /v1/me/picture), null when none. "
            "Not the identity provider's `picture_url`."
        ),
    )

    @classmethod
    def of(cls, account: Account, pending_email: str | None = None, avatar_url: str | None = None) -> MeResponse:
        return cls(
            id=account.id,
            email=account.email,
            name=account.name,
            picture_url=account.picture_url,
            created_at=isoformat(account.created_at),
            status=account.status.value,
            age_confirmed=account.age_confirmed,
            terms_version=account.terms_version,
            consent=ConsentBody.of(account.consent),
            preferences=PreferencesBody(theme=account.preferences.theme),
            default_workspace_id=account.default_workspace_id,
            pending_email=pending_email,
            avatar_url=avatar_url,
        )


class UpdateMeRequest(StrictRequest):
    name: DisplayText | None = None
    email: EmailAddress | None = None
    preferences: PreferencesBody | None = None


class SetPictureRequest(StrictRequest):
    upload_id: str = Field(
        min_length=1, max_length=64, description="One of the caller's own image uploads (POST /v1/uploads)."
    )


class EmailConfirmationRequest(StrictRequest):
    token: str = Field(min_length=1, max_length=256, description="The token from the link emailed to the new address.")


class UpdateConsentRequest(StrictRequest):
    analytics: bool | None = None
    product_improvement: bool | None = None
    marketing_emails: bool | None = None


class AcceptTermsRequest(StrictRequest):
    version: str = Field(min_length=1, max_length=64)
    age_confirmed: MustBeTrue = Field(description="Attests the minimum age; must be true.")


class PolicyVersionBody(BaseModel):
    version: str
    effective_at: str
    summary: str
    material: bool

    @classmethod
    def of(cls, policy: PolicyVersion) -> PolicyVersionBody:
        return cls(
            version=policy.version,
            effective_at=isoformat(policy.effective_at),
            summary=policy.summary,
            material=policy.material,
        )


class PolicyResponse(BaseModel):
    kind: Literal["terms", "privacy"]
    version: str
    effective_at: str
    summary: str
    minimum_age: int
    upcoming: PolicyVersionBody | None


ScopeName = Literal[
    "generate", "library:read", "library:write", "billing:read", "webhooks:read", "webhooks:write", "account:export"
]


class CreateApiKeyRequest(StrictRequest):
    name: DisplayText
    scopes: list[ScopeName] | None = Field(
        default=None,
        min_length=1,
        max_length=len(Scope),
        description=(
            "What the key may do: `generate` (uploads, jobs and workflow runs, cancelling), `library:read` and "
            "`library:write` (jobs, assets, workspaces, workflows, shares), `billing:read` (balance, ledger, "
            "subscription), `webhooks:read` "
            "(webhook endpoints, their delivery logs and the default signing secret), `webhooks:write` "
            "(register, change, remove endpoints, rotate secrets, redeliver, send test events) and "
            "`account:export` (request and download the archive of all the account's data). Without it "
            "the key may generate and read the library; the webhook and export scopes are only ever "
            "given when named."
        ),
    )

    def scope_set(self) -> frozenset[Scope] | None:
        return frozenset(Scope(scope) for scope in self.scopes) if self.scopes else None


class ApiKeyResponse(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: str
    scopes: list[ScopeName]
    last_used_at: str | None = Field(
        default=None, description="When the key last authenticated a request (to a few minutes); null if never."
    )

    @classmethod
    def of(cls, api_key: ApiKey) -> ApiKeyResponse:
        return cls(
            id=api_key.id,
            name=api_key.name,
            prefix=api_key.prefix,
            created_at=isoformat(api_key.created_at),
            scopes=sorted(scope.value for scope in api_key.scopes),
            last_used_at=isoformat(api_key.last_used_at) if api_key.last_used_at else None,
        )


class CreatedApiKeyResponse(ApiKeyResponse):
    key: str = Field(description="The key itself. It is shown this once and cannot be retrieved again.")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyResponse]
    next_cursor: str | None = None


class CreateWorkspaceRequest(StrictRequest):
    name: DisplayText


class UpdateWorkspaceRequest(StrictRequest):
    name: DisplayText


class WorkspaceResponse(BaseModel):
    id: str
    name: str
    created_at: str
    is_default: bool

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceResponse:
        return cls(
            id=workspace.id,
            name=workspace.name,
            created_at=isoformat(workspace.created_at),
            is_default=workspace.is_default,
        )


class WorkspacePage(BaseModel):
    items: list[WorkspaceResponse]
    next_cursor: str | None = None
