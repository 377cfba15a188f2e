"""Runs a workflow version: fills the prompt template's {variables} and submits the job through
`submit_job`, naming the version so the job records which one ran."""

from __future__ import annotations

import string
from typing import Any

from atelier import errors
from atelier.data.workflows import WorkflowRepository
from atelier.models.accounts import Principal
from atelier.models.gallery import WorkflowVersion
from atelier.usecases.manage_workflows import own_workflow
from atelier.usecases.submit_job import JobSubmission, SubmitJobDeps, SubmittedJob, submit_job


class MissingVariableError(errors.InvalidFieldError):
    code = "missing_variable"


def template_variables(template: str) -> list[str]:
    names = []
    try:
        for _, name, _, _ in string.Formatter().parse(template):
            if name is not None and name not in names:
                names.append(name)
    except ValueError as exc:
        raise errors.InvalidFieldError("The prompt template is malformed.") from exc
    return names


def fill_template(template: str, variables: dict[str, str]) -> str:
    """Replaces each {name} with its value; `{{` and `}}` stand for literal braces."""
    missing = [name for name in template_variables(template) if name not in variables]
    if missing:
        raise MissingVariableError(
            f"Missing variable: {missing[0]}.",
            details=[{"field": f"variables.{name}", "location": "body"} for name in missing],
        )
    pieces = []
    for literal, name, _, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if name is not None:
            pieces.append(variables[name])
    return "".join(pieces)


def resolve_version(
    account_id: str, workflow_id: str, number: int, *, workflows: WorkflowRepository
) -> WorkflowVersion:
    workflow = own_workflow(account_id, workflow_id, workflows=workflows)
    if workflow.taken_down:
        raise errors.ForbiddenError("This item was removed by moderation.")
    version = workflows.version(account_id, workflow_id, number)
    if version is None:
        raise errors.NotFoundError("No such version.")
    return version


def submit_from_workflow(
    deps: SubmitJobDeps,
    principal: Principal,
    workflow_id: str,
    version_number: int,
    variables: dict[str, str],
    params: dict[str, Any] | None,
    *,
    workspace_id: str | None,
    idempotency_key: str | None,
) -> SubmittedJob:
    if not principal.is_signed_in or principal.account_id is None:
        raise errors.NotSignedInError()
    version = resolve_version(principal.account_id, workflow_id, version_number, workflows=deps.workflows)
    definition = version.definition
    submission = JobSubmission(
        kind=definition.kind,
        model=definition.model,
        prompt=fill_template(definition.prompt_template, variables),
        negative_prompt=None,
        params={**definition.params, **(params or {})},
        reference_upload_ids=[],
        workflow_version_id=version.id,
    )
    return submit_job(deps, principal, submission, workspace_id=workspace_id, idempotency_key=idempotency_key)
