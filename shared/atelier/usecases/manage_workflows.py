"""Workflows: saved recipes with immutable versions; publishing (behind the consent guard); forks of
a public or shared workflow into the caller's account, which leave the original as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.gallery import GalleryRepository
from atelier.data.policies import PolicyRepository
from atelier.data.shares import ShareRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.models.gallery import TargetType, Workflow, WorkflowDefinition, WorkflowVersion
from atelier.models.generation import Visibility
from atelier.settings import Settings
from atelier.usecases.list_models import find_model
from atelier.usecases.manage_shares import resolve_share
from atelier.usecases.require_consent import require_consent, require_good_standing

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class WorkflowView:
    workflow: Workflow
    latest: WorkflowVersion | None


def _check_definition(definition: WorkflowDefinition, settings: Settings) -> None:
    model = find_model(definition.model, settings)
    if model.kind != definition.kind:
        raise errors.InvalidFieldError(
            f"{model.id} makes {model.kind}s.", details=[{"field": "definition.kind", "location": "body"}]
        )


def _new_version(
    workflow_id: str, account_id: str, number: int, definition: WorkflowDefinition, note: str | None, clock: Clock
) -> WorkflowVersion:
    return WorkflowVersion(
        id=new_id(IdPrefix.WORKFLOW_VERSION),
        workflow_id=workflow_id,
        account_id=account_id,
        version=number,
        definition=definition,
        note=note,
        created_at=clock.now(),
    )


def create_workflow(
    account_id: str,
    name: str,
    description: str | None,
    definition: WorkflowDefinition,
    *,
    workflows: WorkflowRepository,
    clock: Clock,
    settings: Settings,
    forked_from: str | None = None,
    note: str | None = None,
) -> WorkflowView:
    _check_definition(definition, settings)
    now = clock.now()
    workflow = Workflow(
        id=new_id(IdPrefix.WORKFLOW),
        account_id=account_id,
        name=name,
        description=description,
        latest_version=1,
        forked_from=forked_from,
        created_at=now,
        updated_at=now,
    )
    first = _new_version(workflow.id, account_id, 1, definition, note, clock)
    workflows.create(workflow, first)
    return WorkflowView(workflow=workflow, latest=first)


def own_workflow(account_id: str, workflow_id: str, *, workflows: WorkflowRepository) -> Workflow:
    workflow = workflows.get(account_id, workflow_id) if has_prefix(workflow_id, IdPrefix.WORKFLOW) else None
    if workflow is None:
        raise errors.NotFoundError()
    return workflow


def add_version(
    account_id: str,
    workflow_id: str,
    definition: WorkflowDefinition,
    note: str | None,
    *,
    workflows: WorkflowRepository,
    clock: Clock,
    settings: Settings,
) -> WorkflowVersion:
    workflow = own_workflow(account_id, workflow_id, workflows=workflows)
    _check_definition(definition, settings)
    version = _new_version(workflow.id, account_id, workflow.latest_version + 1, definition, note, clock)
    workflows.add_version(workflow, version, clock.now())
    return version


def list_versions(account_id: str, workflow_id: str, *, workflows: WorkflowRepository) -> list[WorkflowVersion]:
    own_workflow(account_id, workflow_id, workflows=workflows)
    return workflows.versions(account_id, workflow_id)


def list_workflows(
    account_id: str, *, limit: int, cursor: str | None, workflows: WorkflowRepository
) -> tuple[list[Workflow], str | None]:
    return workflows.page(account_id, limit=limit, after=cursor)


def _publicly_visible(workflow: Workflow, gallery: GalleryRepository) -> bool:
    if workflow.visibility is not Visibility.PUBLIC or workflow.taken_down or not workflow.listed:
        return False
    owner = gallery.public_owners([workflow.account_id]).get(workflow.account_id)
    return owner is not None and owner.status.shows_public_content


def read_workflow(
    viewer_id: str | None, workflow_id: str, *, workflows: WorkflowRepository, gallery: GalleryRepository
) -> WorkflowView:
    """The owner sees their own (a removed one shows as removed); anyone else only a public one."""
    workflow = workflows.find(workflow_id) if has_prefix(workflow_id, IdPrefix.WORKFLOW) else None
    if workflow is None:
        raise errors.NotFoundError()
    if workflow.account_id != viewer_id and not _publicly_visible(workflow, gallery):
        raise errors.NotFoundError()
    return WorkflowView(
        workflow=workflow, latest=workflows.version(workflow.account_id, workflow.id, workflow.latest_version)
    )


@dataclass(frozen=True)
class UpdateWorkflowDeps:
    """What `update_workflow` works with, built once per function (`Services.dependencies`)."""

    workflows: WorkflowRepository
    accounts: AccountRepository
    policies: PolicyRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> UpdateWorkflowDeps:
        return cls(
            workflows=services.workflows,
            accounts=services.accounts,
            policies=services.policies,
            clock=services.clock,
            settings=services.settings,
        )


def update_workflow(
    deps: UpdateWorkflowDeps,
    account_id: str,
    workflow_id: str,
    *,
    name: str | None,
    description: str | None,
    visibility: Visibility | None,
) -> WorkflowView:
    workflow = own_workflow(account_id, workflow_id, workflows=deps.workflows)
    if visibility is Visibility.PUBLIC and workflow.visibility is not Visibility.PUBLIC:
        account = deps.accounts.require(account_id)
        require_consent(account, policies=deps.policies, clock=deps.clock, settings=deps.settings)
        require_good_standing(account)
        if workflow.taken_down:
            raise errors.ForbiddenError("This item was removed by moderation.")
    updated = deps.workflows.update(
        account_id, workflow_id, name=name, description=description, visibility=visibility, now=deps.clock.now()
    )
    return WorkflowView(
        workflow=updated, latest=deps.workflows.version(account_id, workflow_id, updated.latest_version)
    )


@dataclass(frozen=True)
class ForkWorkflowDeps:
    """What `fork_workflow` works with, built once per function (`Services.dependencies`)."""

    workflows: WorkflowRepository
    shares: ShareRepository
    gallery: GalleryRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ForkWorkflowDeps:
        return cls(
            workflows=services.workflows,
            shares=services.shares,
            gallery=services.gallery,
            clock=services.clock,
            settings=services.settings,
        )


def fork_workflow(
    deps: ForkWorkflowDeps,
    account_id: str,
    workflow_id: str,
    share_token: str | None,
) -> WorkflowView:
    """Copies the latest version of a public workflow, or of one shared with the caller by a live
    link, into a new workflow of the caller's. The original is only read."""
    original = deps.workflows.find(workflow_id) if has_prefix(workflow_id, IdPrefix.WORKFLOW) else None
    if original is None:
        raise errors.NotFoundError()
    allowed = original.account_id == account_id or _publicly_visible(original, deps.gallery)
    if not allowed and share_token:
        share = resolve_share(share_token, shares=deps.shares, clock=deps.clock)
        owner = deps.gallery.public_owners([original.account_id]).get(original.account_id)
        allowed = (
            share.target_type is TargetType.WORKFLOW
            and share.target_id == original.id
            and not original.taken_down
            and owner is not None
            and owner.status.shows_public_content
        )
    if not allowed:
        raise errors.NotFoundError()
    latest = deps.workflows.version(original.account_id, original.id, original.latest_version)
    if latest is None:
        raise errors.NotFoundError()
    return create_workflow(
        account_id,
        original.name,
        original.description,
        latest.definition,
        workflows=deps.workflows,
        clock=deps.clock,
        settings=deps.settings,
        forked_from=original.id,
        note=f"Forked from {original.id} version {latest.version}",
    )
