"""Workspaces: named folders inside an account."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, UpdateError

from atelier import errors
from atelier.data import keys
from atelier.data.accounts import workspace_item
from atelier.data.base import is_conditional_failure, translate_errors
from atelier.data.items import WorkspaceItem
from atelier.models.accounts import Workspace


class WorkspaceNotEmptyError(errors.ConflictError):
    code = "workspace_not_empty"
    default_message = "Move or delete what is in this workspace first."


class DefaultWorkspaceError(errors.ConflictError):
    code = "default_workspace"
    default_message = "The default workspace cannot be deleted."


def _to_workspace(account_id: str, item: WorkspaceItem) -> Workspace:
    return Workspace(
        id=item.workspace_id,
        account_id=account_id,
        name=item.name,
        created_at=item.created_at,
        is_default=item.is_default,
        content_count=int(item.content_count or 0),
    )


class WorkspaceRepository:
    def create(self, workspace: Workspace) -> None:
        with translate_errors():
            workspace_item(workspace).save(condition=WorkspaceItem.pk.does_not_exist())

    def get(self, account_id: str, workspace_id: str) -> Workspace | None:
        with translate_errors():
            try:
                item = WorkspaceItem.get(keys.account_pk(account_id), keys.workspace_sk(workspace_id))
            except WorkspaceItem.DoesNotExist:
                return None
        return _to_workspace(account_id, item)

    def list(self, account_id: str) -> list[Workspace]:
        with translate_errors():
            items = WorkspaceItem.query(keys.account_pk(account_id), WorkspaceItem.sk.startswith(keys.WORKSPACE_PREFIX))
            return [_to_workspace(account_id, item) for item in items]

    def rename(self, account_id: str, workspace_id: str, name: str) -> Workspace:
        item = WorkspaceItem(keys.account_pk(account_id), keys.workspace_sk(workspace_id))
        with translate_errors():
            try:
                item.update(actions=[WorkspaceItem.name.set(name)], condition=WorkspaceItem.pk.exists())
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.NotFoundError() from exc
                raise
        return _to_workspace(account_id, item)

    def delete_if_empty(self, account_id: str, workspace_id: str) -> None:
        """Deletes a non-default, empty workspace; the checks are conditions of the delete itself,
        so content added a moment before cannot be orphaned."""
        existing = self.get(account_id, workspace_id)
        if existing is None:
            raise errors.NotFoundError()
        if existing.is_default:
            raise DefaultWorkspaceError()
        item = WorkspaceItem(keys.account_pk(account_id), keys.workspace_sk(workspace_id))
        condition = (
            WorkspaceItem.pk.exists()
            & (WorkspaceItem.is_default == False)  # noqa: E712 - a DynamoDB condition, not a Python comparison
            & (WorkspaceItem.content_count.does_not_exist() | (WorkspaceItem.content_count == 0))
        )
        with translate_errors():
            try:
                item.delete(condition=condition)
            except DeleteError as exc:
                if is_conditional_failure(exc):
                    raise WorkspaceNotEmptyError() from exc
                raise
