"""A person's own reports (P7): what they reported, why, and whether the moderators have decided,
so a reporter can follow up on what they sent without asking support."""

from __future__ import annotations

from atelier.data.reports import ReportRepository
from atelier.models.gallery import Report


def list_my_reports(
    account_id: str, *, limit: int, cursor: str | None, reports: ReportRepository
) -> tuple[list[Report], str | None]:
    """The account's reports, newest first, a page at a time (the cursor is the last row's key)."""
    return reports.by_reporter(account_id, limit=limit, after=cursor)
