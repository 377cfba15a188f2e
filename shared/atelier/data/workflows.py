"""Workflows: saved recipes with immutable, numbered versions, and the pointer that finds a workflow
by id (for public reads and forks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from atelier import errors
from atelier.data import keys
from atelier.data.base import is_conditional_failure, transaction, translate_errors
from atelier.data.items import PointerItem, WorkflowItem, WorkflowVersionItem
from atelier.models.gallery import Workflow, WorkflowDefinition, WorkflowVersion
from atelier.models.generation import Visibility


def _to_workflow(item: WorkflowItem) -> Workflow:
    return Workflow(
        id=item.workflow_id,
        account_id=item.pk.removeprefix(keys.ACCOUNT),
        name=item.name,
        description=item.description,
        visibility=Visibility(item.visibility),
        latest_version=int(item.latest_version),
        forked_from=item.forked_from,
        removed=bool(item.removed),
        under_review=bool(item.under_review),
        listed=item.listed is not False,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _to_version(item: WorkflowVersionItem) -> WorkflowVersion:
    return WorkflowVersion(
        id=item.version_id,
        workflow_id=item.workflow_id,
        account_id=item.pk.removeprefix(keys.ACCOUNT),
        version=int(item.version),
        definition=WorkflowDefinition(
            kind=item.kind, model=item.model, prompt_template=item.prompt_template, params=dict(item.params or {})
        ),
        note=item.note,
        created_at=item.created_at,
    )


def _version_item(version: WorkflowVersion) -> WorkflowVersionItem:
    return WorkflowVersionItem(
        keys.account_pk(version.account_id),
        keys.workflow_version_sk(version.workflow_id, version.version),
        entity="workflow_version",
        workflow_id=version.workflow_id,
        version_id=version.id,
        version=version.version,
        kind=version.definition.kind,
        model=version.definition.model,
        prompt_template=version.definition.prompt_template,
        params=dict(version.definition.params),
        note=version.note,
        created_at=version.created_at,
    )


class WorkflowRepository:
    def create(self, workflow: Workflow, first: WorkflowVersion) -> None:
        """The workflow, its first version and its id pointer, in one transaction."""
        item = WorkflowItem(
            keys.account_pk(workflow.account_id),
            keys.workflow_sk(workflow.id),
            entity="workflow",
            workflow_id=workflow.id,
            name=workflow.name,
            description=workflow.description,
            visibility=workflow.visibility.value,
            latest_version=workflow.latest_version,
            forked_from=workflow.forked_from,
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
        )
        pointer = PointerItem(
            keys.workflow_pointer_pk(workflow.id),
            keys.POINTER_SK,
            entity="workflow_pointer",
            account_id=workflow.account_id,
            ref_id=workflow.id,
            created_at=workflow.created_at,
        )
        with translate_errors(), transaction() as tx:
            tx.save(item, condition=WorkflowItem.pk.does_not_exist())
            tx.save(_version_item(first), condition=WorkflowVersionItem.pk.does_not_exist())
            tx.save(pointer, condition=PointerItem.pk.does_not_exist())

    def get(self, account_id: str, workflow_id: str) -> Workflow | None:
        with translate_errors():
            try:
                item = WorkflowItem.get(
                    keys.account_pk(account_id), keys.workflow_sk(workflow_id), consistent_read=True
                )
            except WorkflowItem.DoesNotExist:
                return None
        return _to_workflow(item)

    def owner_of(self, workflow_id: str) -> str | None:
        with translate_errors():
            try:
                pointer = PointerItem.get(keys.workflow_pointer_pk(workflow_id), keys.POINTER_SK)
            except PointerItem.DoesNotExist:
                return None
        return pointer.account_id

    def find(self, workflow_id: str) -> Workflow | None:
        owner = self.owner_of(workflow_id)
        return self.get(owner, workflow_id) if owner else None

    def page(self, account_id: str, *, limit: int, after: str | None) -> tuple[list[Workflow], str | None]:
        condition: Condition = WorkflowItem.sk.startswith(keys.WORKFLOW_PREFIX)
        if after:
            condition = WorkflowItem.sk.between(keys.WORKFLOW_PREFIX, keys.workflow_sk(after))
        found: list[Workflow] = []
        with translate_errors():
            for item in WorkflowItem.query(
                keys.account_pk(account_id), condition, scan_index_forward=False, page_size=limit + 1
            ):
                if item.workflow_id == after:
                    continue
                found.append(_to_workflow(item))
                if len(found) > limit:
                    break
        page = found[:limit]
        return page, (page[-1].id if len(found) > limit else None)

    def add_version(self, workflow: Workflow, version: WorkflowVersion, now: datetime) -> None:
        """A new version numbered after the latest: the workflow's counter moves only if nobody else
        moved it first, and the version item is written only if absent (versions never change)."""
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.update(
                        WorkflowItem(keys.account_pk(workflow.account_id), keys.workflow_sk(workflow.id)),
                        actions=[WorkflowItem.latest_version.set(version.version), WorkflowItem.updated_at.set(now)],
                        condition=WorkflowItem.latest_version == version.version - 1,
                        label="workflow",
                    )
                    tx.save(_version_item(version), condition=WorkflowVersionItem.pk.does_not_exist(), label="version")
            except TransactWriteError as exc:
                raise errors.ConflictError("Another version was added at the same time; retry.") from exc

    def versions(self, account_id: str, workflow_id: str) -> list[WorkflowVersion]:
        with translate_errors():
            return [
                _to_version(item)
                for item in WorkflowVersionItem.query(
                    keys.account_pk(account_id),
                    WorkflowVersionItem.sk.startswith(keys.workflow_versions_prefix(workflow_id)),
                )
            ]

    def version_by_id(self, account_id: str, version_id: str) -> WorkflowVersion | None:
        """One of the account's own versions, by its id: a Query of the account's version items
        (never another account's partition), stopping at the match."""
        with translate_errors():
            for item in WorkflowVersionItem.query(
                keys.account_pk(account_id),
                WorkflowVersionItem.sk.startswith(keys.WORKFLOW_VERSION_PREFIX),
                filter_condition=WorkflowVersionItem.version_id == version_id,
                consistent_read=True,
            ):
                return _to_version(item)
        return None

    def version(self, account_id: str, workflow_id: str, number: int) -> WorkflowVersion | None:
        with translate_errors():
            try:
                item = WorkflowVersionItem.get(
                    keys.account_pk(account_id), keys.workflow_version_sk(workflow_id, number), consistent_read=True
                )
            except WorkflowVersionItem.DoesNotExist:
                return None
        return _to_version(item)

    def update(
        self,
        account_id: str,
        workflow_id: str,
        *,
        name: str | None,
        description: str | None,
        visibility: Visibility | None,
        now: datetime,
    ) -> Workflow:
        actions: list[Any] = [WorkflowItem.updated_at.set(now)]
        if name is not None:
            actions.append(WorkflowItem.name.set(name))
        if description is not None:
            actions.append(WorkflowItem.description.set(description))
        if visibility is not None:
            actions.append(WorkflowItem.visibility.set(visibility.value))
            if visibility is Visibility.PUBLIC:
                actions.append(WorkflowItem.listed.set(True))
        item = WorkflowItem(keys.account_pk(account_id), keys.workflow_sk(workflow_id))
        with translate_errors():
            try:
                item.update(actions=actions, condition=WorkflowItem.pk.exists())
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.NotFoundError() from exc
                raise
        return _to_workflow(item)

    def set_takedown(self, account_id: str, workflow_id: str, *, removed: bool | None, under_review: bool) -> None:
        actions: list[Any] = [
            WorkflowItem.under_review.set(True) if under_review else WorkflowItem.under_review.remove()
        ]
        if removed is not None:
            actions.append(WorkflowItem.removed.set(removed))
        with translate_errors():
            WorkflowItem(keys.account_pk(account_id), keys.workflow_sk(workflow_id)).update(
                actions=actions, condition=WorkflowItem.pk.exists()
            )


def set_workflows_listed(account_id: str, listed: bool) -> int:
    """Sets the `listed` flag of every public workflow of the account (hide / restore public content)."""
    changed = 0
    with translate_errors():
        for row in WorkflowItem.query(
            keys.account_pk(account_id),
            WorkflowItem.sk.startswith(keys.WORKFLOW_PREFIX),
            filter_condition=WorkflowItem.visibility == Visibility.PUBLIC.value,
        ):
            row.update(actions=[WorkflowItem.listed.set(listed)])
            changed += 1
    return changed
