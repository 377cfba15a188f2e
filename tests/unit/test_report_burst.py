"""The alert a burst of reports raises: once per window, to every admin address, with a metric."""

from __future__ import annotations

from datetime import UTC, datetime

from atelier import errors
from atelier.models.email import EmailKind, OutgoingEmail
from atelier.observability import metrics
from atelier.settings import Settings
from atelier.usecases.report_content import alert_on_a_burst

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


class CountingLimiter:
    """Counts events per window as the DynamoDB counter does."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def count(self, scope: str, subject: str, *, window_seconds: int, now: datetime) -> int:
        window = int(now.timestamp()) // window_seconds
        key = (scope, subject, window)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


class OutboxMailer:
    def __init__(self, *, down: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.down = down

    def send(self, message: OutgoingEmail) -> None:
        if self.down:
            raise errors.DependencyUnavailableError()
        self.sent.append(message)


SETTINGS = Settings(admin_emails=["mod@example.com", " second@example.com"], report_burst_threshold=3)


def bursts_recorded() -> float:
    return sum(metrics.metric_set.get("ReportBurst", {}).get("Value", []))


def test_the_report_that_fills_the_window_alerts_every_moderator_once():
    # Given a burst threshold of three reports an hour
    limiter, mailer = CountingLimiter(), OutboxMailer()
    metrics.clear_metrics()

    # When five reports arrive within the window
    for _ in range(5):
        alert_on_a_burst(rate_limiter=limiter, mailer=mailer, clock=FixedClock(), settings=SETTINGS)

    # Then each moderator got one email, and the metric counted one burst
    assert sorted(message.to for message in mailer.sent) == ["mod@example.com", "second@example.com"]
    assert {message.kind for message in mailer.sent} == {EmailKind.MODERATION}
    assert bursts_recorded() == 1
    metrics.clear_metrics()


def test_reports_below_the_threshold_alert_nobody():
    limiter, mailer = CountingLimiter(), OutboxMailer()
    metrics.clear_metrics()
    for _ in range(2):
        alert_on_a_burst(rate_limiter=limiter, mailer=mailer, clock=FixedClock(), settings=SETTINGS)
    assert mailer.sent == []
    assert bursts_recorded() == 0


def test_a_mail_outage_does_not_fail_the_report_and_the_metric_still_counts():
    # Given a mailer that is down
    limiter, mailer = CountingLimiter(), OutboxMailer(down=True)
    metrics.clear_metrics()
    # When the burst fills the window, nothing raises, and the metric is there for the alarm
    for _ in range(3):
        alert_on_a_burst(rate_limiter=limiter, mailer=mailer, clock=FixedClock(), settings=SETTINGS)
    assert bursts_recorded() == 1
    metrics.clear_metrics()
