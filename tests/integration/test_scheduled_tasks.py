"""The scheduled function, as one warm Lambda container runs it: every task, in any order, after any
other work of the same process, does its work (P9's 72-hour purge, P11's retention sweep).

A connection opened on one item class used to be inherited by every class that had opened none,
and it knew none of their indexes: whichever task came after a purge, a retention run or an export
failed on its first index query. Each order below starts as a fresh container would (no class has
a connection yet) and seeds work for every task, so each run has something real to do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from atelier.data import keys
from atelier.data.base import main_table_connection
from atelier.data.emails import SENT_EMAIL_RETENTION
from atelier.data.gallery import GalleryCursor
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import Account
from atelier.models.email import SentEmail
from atelier.models.generation import JobStatus
from atelier.services import get_services
from atelier.usecases.submit_job import JobSubmission, submit_job
from local.runtime import LocalRuntime
from tests.integration.test_privacy_helpers import (
    MovedClock,
    create_account,
    export_now,
    principal_of,
    ready_account,
    schedule,
)
from tests.support.generation import KeptMessages, submit_job_deps
from tests.support.stack import forget_model_connections

SWEEP, PURGE, RETENTION = "sweep-overdue-jobs", "purge-due-accounts", "retention-sweep"
TASKS = (SWEEP, PURGE, RETENTION)
EXPORT, GALLERY = "export", "gallery"
# Every order of the three tasks, then orders that mix in an export and a gallery page.
ORDERS = [
    *itertools.permutations(TASKS),
    (EXPORT, GALLERY, PURGE, SWEEP, RETENTION),
    (PURGE, EXPORT, RETENTION, GALLERY, SWEEP, PURGE),
    (RETENTION, PURGE, PURGE, SWEEP, EXPORT, GALLERY),
]


class DueWork:
    """One piece of work due for each task, written by the code that writes it in production."""

    def __init__(self) -> None:
        services = get_services()
        # An account whose 72-hour countdown ended an hour ago.
        self.leaving: Account = create_account()
        schedule(self.leaving, clock=MovedClock(-timedelta(hours=73)))
        # A sent-email record past its retention.
        owner = create_account()
        self.old_email = SentEmail(
            id=new_id(IdPrefix.EMAIL),
            account_id=owner.id,
            kind="account",
            subject="Long ago",
            sent_at=datetime.now(UTC) - SENT_EMAIL_RETENTION - timedelta(hours=1),
        )
        services.sent_emails.record(self.old_email)
        self.old_email_owner = owner
        # A job submitted two hours ago that never started: past its deadline.
        self.maker = ready_account(20)
        self.stuck_job = submit_job(
            submit_job_deps(queue=KeptMessages(), clock=MovedClock(-timedelta(hours=2))),
            principal_of(self.maker),
            JobSubmission(
                kind="image",
                model="local-image",
                prompt="stuck",
                negative_prompt=None,
                params={},
                reference_upload_ids=[],
            ),
            workspace_id=None,
            idempotency_key=None,
        ).job

    def purged(self) -> bool:
        return get_services().accounts.get(self.leaving.id) is None

    def swept(self) -> bool:
        job = get_services().jobs.get(self.maker.id, self.stuck_job.id)
        return job is not None and job.status is JobStatus.FAILED

    def retained(self) -> bool:
        key = keys.account_pk(self.old_email_owner.id), keys.email_sk(self.old_email.id)
        return "Item" not in main_table_connection().get_item(*key, consistent_read=True)


def _runner(stack: LocalRuntime) -> Callable[[str], None]:
    services = get_services()

    def run(step: str) -> None:
        if step == EXPORT:
            assert export_now(create_account()).status.value == "ready"
        elif step == GALLERY:
            month = datetime.now(UTC).strftime("%Y-%m")
            services.gallery.month_page(None, GalleryCursor(month=month, after=None), limit=10)
            services.gallery.month_page("image", GalleryCursor(month=month, after=None), limit=10)
        else:
            [name] = [name for name in (schedule.name for schedule in stack.scheduler.schedules) if name.endswith(step)]
            outcome = stack.scheduler.run_now(name)
            assert outcome["status"] == "succeeded", (step, outcome)

    return run


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: ",".join(order))
def test_every_scheduled_task_does_its_work_in_any_order_in_one_warm_process(stack, order):
    # Given work due for every task, in a process where no item type has a connection yet
    due = DueWork()
    assert not due.purged()
    assert not due.swept()
    assert not due.retained()
    forget_model_connections()
    run = _runner(stack)
    # When the steps run in this order, one after another, in this one process
    for step in order:
        run(step)
    # Then every run succeeded (checked as it ran), and each task did its work
    if PURGE in order:
        assert due.purged()
    if SWEEP in order:
        assert due.swept()
    if RETENTION in order:
        assert due.retained()
