"""The moderation console's reads, with fakes: what a moderator sees of a reported item (never a
link to quarantined content), and the audit trail's month and moderators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from atelier import errors
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import Account, AccountStatus
from atelier.models.gallery import (
    AuditEntry,
    ItemState,
    Report,
    ReportedItem,
    ReportReason,
    ReportStatus,
    TargetType,
    Workflow,
)
from atelier.models.generation import Visibility
from atelier.settings import Settings
from atelier.usecases.read_audit_trail import read_audit_trail
from atelier.usecases.review_report import ReviewReportDeps, review_report

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
REPORT_ID = new_id(IdPrefix.REPORT)
OTHER_REPORT_ID = new_id(IdPrefix.REPORT)


def a_report(target_type: TargetType = TargetType.ASSET, target_id: str = "ast_1", **changes: Any) -> Report:
    fields: dict[str, Any] = {
        "id": REPORT_ID,
        "reporter_id": "acct_reporter",
        "owner_id": "acct_owner",
        "target_type": target_type,
        "target_id": target_id,
        "reason": ReportReason.VIOLENCE,
        "status": ReportStatus.OPEN,
        "created_at": NOW,
    }
    return Report(**(fields | changes))


def an_account(account_id: str, email: str, status: AccountStatus = AccountStatus.ACTIVE) -> Account:
    return Account(
        id=account_id,
        email=email,
        name="Someone",
        identity_issuer="https://issuer.example",
        identity_subject=account_id,
        created_at=NOW,
        status=status,
        default_workspace_id="ws_1",
        ledger_id="led_1",
    )


class FakeReports:
    def __init__(self, *reports: Report):
        self.reports = {report.id: report for report in reports}

    def get(self, report_id: str) -> Report | None:
        return self.reports.get(report_id)

    def on_target(self, target_type: TargetType, target_id: str, *, limit: int = 100) -> list[Report]:
        found = [r for r in self.reports.values() if (r.target_type, r.target_id) == (target_type, target_id)]
        return sorted(found, key=lambda report: report.created_at, reverse=True)


class FakeAccounts:
    def __init__(self, *accounts: Account):
        self.accounts = {account.id: account for account in accounts}

    def get(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)


class FakeModeration:
    def __init__(self, item: ReportedItem | None = None, *, record: bool = False, audit: list[AuditEntry] = ()):
        self.item, self.record, self.audit = item, record, list(audit)
        self.months: list[str] = []

    def reported_asset(self, account_id: str, asset_id: str) -> ReportedItem:
        return self.item or ReportedItem(
            target_type=TargetType.ASSET, target_id=asset_id, owner_id=account_id, state=ItemState.GONE
        )

    def quarantine_record(self, asset_id: str) -> dict[str, Any] | None:
        return {"asset_id": asset_id} if self.record else None

    def audit_page(self, month: str, *, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        self.months.append(month)
        return self.audit[:limit], None


class FakeWorkflows:
    def __init__(self, *workflows: Workflow):
        self.workflows = {workflow.id: workflow for workflow in workflows}

    def get(self, account_id: str, workflow_id: str) -> Workflow | None:
        return self.workflows.get(workflow_id)


class FakeStorage:
    def presigned_get(self, key: str, expires_in: int, *, filename: str | None = None) -> str:
        return f"https://assets.example/{key}?expires={expires_in}"


class FixedClock:
    def now(self) -> datetime:
        return NOW


def review(report: Report, moderation: FakeModeration, *, workflows: FakeWorkflows | None = None, owner=None):
    return review_report(
        ReviewReportDeps(
            reports=cast(Any, FakeReports(report, a_report(target_id="ast_other", id=OTHER_REPORT_ID))),
            accounts=cast(Any, FakeAccounts(*([owner] if owner else []))),
            moderation=cast(Any, moderation),
            workflows=cast(Any, workflows or FakeWorkflows()),
            storage=cast(Any, FakeStorage()),
            settings=Settings(download_url_seconds=120),
        ),
        report.id,
    )


def asset(state: ItemState, **changes: Any) -> ReportedItem:
    fields: dict[str, Any] = {
        "target_type": TargetType.ASSET,
        "target_id": "ast_1",
        "owner_id": "acct_owner",
        "state": state,
        "visibility": Visibility.PUBLIC,
        "content_type": "image/png",
        "media_key": "accounts/acct_owner/outputs/ast_1.png",
        "preview_key": "accounts/acct_owner/outputs/ast_1.png.thumb.webp",
    }
    return ReportedItem(**(fields | changes))


def test_a_live_asset_is_shown_through_short_lived_links_with_its_owner_and_only_its_own_history():
    # Given a report on a live asset whose owner is active
    owner = an_account("acct_owner", "owner@example.com")

    # When a moderator reviews it
    seen = review(a_report(), FakeModeration(asset(ItemState.LIVE)), owner=owner)

    # Then the media come as links that expire, and the history holds only this item's reports
    assert seen.media_url == "https://assets.example/accounts/acct_owner/outputs/ast_1.png?expires=120"
    assert seen.preview_url is not None
    assert seen.preview_url.endswith(".thumb.webp?expires=120")
    assert seen.owner_status is AccountStatus.ACTIVE
    assert [report.id for report in seen.history] == [REPORT_ID]


def test_quarantined_content_is_never_linked():
    # Given a quarantined asset, even one whose row still names its objects
    item = asset(ItemState.QUARANTINED)

    # When a moderator reviews its report, Then there is no link at all
    seen = review(a_report(), FakeModeration(item))
    assert (seen.item.state, seen.media_url, seen.preview_url) == (ItemState.QUARANTINED, None, None)


def test_an_item_quarantined_before_it_became_an_asset_shows_as_quarantined_not_gone():
    # Given no asset row, but a quarantine record for the reported id
    seen = review(a_report(), FakeModeration(None, record=True))

    # Then it is shown as quarantined, with no link; without a record it is simply gone
    assert (seen.item.state, seen.media_url) == (ItemState.QUARANTINED, None)
    assert review(a_report(), FakeModeration(None)).item.state is ItemState.GONE


def test_a_purged_owner_has_no_status():
    seen = review(a_report(), FakeModeration(asset(ItemState.REMOVED)))
    assert seen.owner_status is None
    assert seen.item.state is ItemState.REMOVED


def test_a_reported_workflow_shows_its_name_visibility_and_takedown():
    # Given a removed public workflow
    workflow = Workflow(
        id="wf_1",
        account_id="acct_owner",
        name="Moody portraits",
        visibility=Visibility.PUBLIC,
        latest_version=2,
        removed=True,
        created_at=NOW,
        updated_at=NOW,
    )

    # When its report is reviewed
    seen = review(a_report(TargetType.WORKFLOW, "wf_1"), FakeModeration(), workflows=FakeWorkflows(workflow))

    # Then it is named, shown removed, and has no media
    assert (seen.item.name, seen.item.state, seen.item.visibility) == (
        "Moody portraits",
        ItemState.REMOVED,
        Visibility.PUBLIC,
    )
    assert seen.media_url is None


@pytest.mark.parametrize(
    "report_id",
    [OTHER_REPORT_ID, "rpt_unknown", "ast_1", f"../{REPORT_ID}"],
    ids=["another-report", "unknown", "not-a-report-id", "path-traversal"],
)
def test_an_unknown_or_malformed_report_id_is_not_found(report_id):
    with pytest.raises(errors.NotFoundError):
        review_report(
            ReviewReportDeps(
                reports=cast(Any, FakeReports(a_report())),
                accounts=cast(Any, FakeAccounts()),
                moderation=cast(Any, FakeModeration()),
                workflows=cast(Any, FakeWorkflows()),
                storage=cast(Any, FakeStorage()),
                settings=Settings(),
            ),
            report_id,
        )


def test_the_audit_trail_defaults_to_this_month_and_names_the_moderators_still_there():
    # Given two actions by two moderators, one of whom no longer has an account
    entries = [
        AuditEntry(
            id=f"aud_{n}",
            at=NOW,
            moderator_id=moderator,
            action="remove",
            report_id="rpt_1",
            target_type="asset",
            target_id="ast_1",
            owner_id="acct_owner",
            note="seen",
        )
        for n, moderator in enumerate(["acct_mod", "acct_gone"])
    ]
    moderation = FakeModeration(audit=entries)

    # When the trail is read without a month
    page = read_audit_trail(
        None,
        limit=50,
        cursor=None,
        moderation=cast(Any, moderation),
        accounts=cast(Any, FakeAccounts(an_account("acct_mod", "mod@example.com"))),
        clock=FixedClock(),
    )

    # Then it is this month's (by the clock), with the address of the moderator who still has one
    assert (page.month, moderation.months) == ("2026-12", ["2026-12"])
    assert page.moderators == {"acct_mod": "mod@example.com"}
    assert [entry.id for entry in page.entries] == ["aud_0", "aud_1"]
