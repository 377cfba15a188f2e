"""Workspaces: create, rename, delete (never the default; only when empty), and the active one of
a request (the X-Workspace-Id header, else the __Host-workspace cookie, else the default)."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.workspaces import WorkspaceRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.models.accounts import Workspace
from atelier.settings import Settings


class TooManyWorkspacesError(errors.ConflictError):
    code = "too_many_workspaces"
    default_message = "Delete a workspace before creating another."


def create_workspace(
    account_id: str, name: str, *, workspaces: WorkspaceRepository, clock: Clock, settings: Settings
) -> Workspace:
    if len(workspaces.list(account_id)) >= settings.account_limits.max_workspaces_per_account:
        raise TooManyWorkspacesError()
    workspace = Workspace(id=new_id(IdPrefix.WORKSPACE), account_id=account_id, name=name, created_at=clock.now())
    workspaces.create(workspace)
    return workspace


def get_workspace(account_id: str, workspace_id: str, *, workspaces: WorkspaceRepository) -> Workspace:
    """The owner's workspace, or 404 (also for another account's: never confirm it exists)."""
    if not has_prefix(workspace_id, IdPrefix.WORKSPACE):
        raise errors.NotFoundError()
    workspace = workspaces.get(account_id, workspace_id)
    if workspace is None:
        raise errors.NotFoundError()
    return workspace


def active_workspace(
    account_id: str,
    *,
    header_value: str | None,
    cookie_value: str | None,
    workspaces: WorkspaceRepository,
    accounts: AccountRepository,
) -> Workspace:
    chosen = header_value or cookie_value
    if chosen:
        return get_workspace(account_id, chosen, workspaces=workspaces)
    default_id = accounts.require(account_id).default_workspace_id
    return get_workspace(account_id, default_id, workspaces=workspaces)


def delete_workspace(account_id: str, workspace_id: str, *, workspaces: WorkspaceRepository) -> None:
    get_workspace(account_id, workspace_id, workspaces=workspaces)
    workspaces.delete_if_empty(account_id, workspace_id)


def list_workspaces(account_id: str, *, workspaces: WorkspaceRepository) -> list[Workspace]:
    """The default first, then by creation."""
    return sorted(workspaces.list(account_id), key=lambda w: (not w.is_default, w.created_at))


def rename_workspace(account_id: str, workspace_id: str, name: str, *, workspaces: WorkspaceRepository) -> Workspace:
    get_workspace(account_id, workspace_id, workspaces=workspaces)
    return workspaces.rename(account_id, workspace_id, name)
