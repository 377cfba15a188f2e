"""Retention (P11) against the emulator: log-like items are indexed by the day they expire whatever
writes them, and the daily sweep deletes the expired ones with Queries, keeping the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from atelier.data import keys
from atelier.data.base import main_table_connection
from atelier.data.emails import SENT_EMAIL_RETENTION
from atelier.data.expiry import expiry_index_keys
from atelier.data.payments import INBOX_RETENTION
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import SignInState
from atelier.models.email import SentEmail
from atelier.services import get_services
from atelier.usecases.sweep_retention import SweepRetentionDeps, sweep_retention
from tests.integration.test_privacy_helpers import MovedClock, create_account


def stored(pk: str, sk: str) -> dict | None:
    answer = main_table_connection().get_item(pk, sk, consistent_read=True)
    return answer.get("Item")


def index_entry(pk: str, sk: str) -> tuple[str | None, str | None]:
    item = stored(pk, sk) or {}
    return item.get("GSI1PK", {}).get("S"), item.get("GSI1SK", {}).get("S")


def sweep(clock):
    services = get_services()
    return sweep_retention(
        SweepRetentionDeps(
            retention=services.retention,
            uploads=services.uploads,
            storage=services.asset_storage,
            clock=clock,
            settings=services.settings,
        )
    )


def log_like_items(now: datetime):
    """One of each log-like item, written by the code that writes them in production."""
    services = get_services()
    account = create_account()
    email = SentEmail(id=new_id(IdPrefix.EMAIL), account_id=account.id, kind="account", subject="Hi", sent_at=now)
    services.sent_emails.record(email)
    services.rate_limiter.hit("retention-test", account.id, limit=5, window_seconds=60, now=now)
    event_id = new_id(IdPrefix.REQUEST)
    services.payments.record_event("stripe", event_id, "checkout.session.completed", now)
    services.payments.mark_processed("stripe", event_id)
    state_hash = new_id(IdPrefix.REQUEST)
    services.sign_in_states.save(
        SignInState(
            state_hash=state_hash,
            browser_binding_hash="b",
            nonce="n",
            code_verifier="v",
            provider="google",
            redirect_to="/",
            expires_at=now + timedelta(minutes=10),
        )
    )
    from atelier.data.rate_limits import hashed_subject

    epoch = int(now.timestamp())
    return {
        "sent_email": (keys.account_pk(account.id), keys.email_sk(email.id)),
        "rate_counter": (
            keys.rate_counter_pk("retention-test", hashed_subject(account.id)),
            keys.rate_window_sk(epoch - epoch % 60),
        ),
        "payment_event": (keys.inbox_pk("stripe", event_id), keys.POINTER_SK),
        "sign_in_state": (keys.sign_in_state_pk(state_hash), keys.POINTER_SK),
    }


def test_log_like_items_are_indexed_by_the_day_they_expire_however_they_are_written(stack):
    # Given one of each log-like item, written by put, conditional put, update and transaction
    items = log_like_items(datetime.now(UTC))
    # Then each carries the GSI1 entry of its own expiry
    for entity, (pk, sk) in items.items():
        item = stored(pk, sk)
        assert item is not None, entity
        expires_at = int(item["expires_at"]["N"])
        assert index_entry(pk, sk) == expiry_index_keys(pk, expires_at), entity
        assert index_entry(pk, sk)[0].startswith("EXPIRES#"), entity


def test_the_sweep_deletes_expired_log_like_items_and_keeps_the_rest(stack):
    # Given log-like items written a month ago, two days ago and now
    now = datetime.now(UTC)
    month_ago = log_like_items(now - timedelta(days=31))
    two_days_ago = log_like_items(now - timedelta(days=2))
    fresh = log_like_items(now)
    assert SENT_EMAIL_RETENTION == INBOX_RETENTION == timedelta(days=30)
    # When the daily sweep runs
    deleted = sweep(MovedClock())
    # Then what expired within its look-back is gone: the month-old emails and payment events
    # (30 days), the two-day-old rate counters and sign-in states (hours)
    for entity in ("sent_email", "payment_event"):
        assert stored(*month_ago[entity]) is None, entity
        assert stored(*two_days_ago[entity]) is not None, entity
    for entity in ("rate_counter", "sign_in_state"):
        assert stored(*two_days_ago[entity]) is None, entity
    # And nothing live is touched
    assert all(stored(pk, sk) is not None for pk, sk in fresh.values())
    assert set(deleted) == {"sent_email", "rate_counter", "payment_event", "sign_in_state"}


def test_the_sweep_reaches_items_that_expired_today(stack):
    # Given a sign-in state that expired a moment ago
    now = datetime.now(UTC)
    items = log_like_items(now - timedelta(minutes=11))
    pk, sk = items["sign_in_state"]
    # When the sweep runs
    sweep(MovedClock())
    # Then it is gone, and the rate counter (expired an hour after its window) is not yet
    assert stored(pk, sk) is None
    assert stored(*items["rate_counter"]) is not None


def test_the_sweep_makes_no_scan(stack):
    import botocore.session

    from tests.support.stack import reset_cached_clients

    log_like_items(datetime.now(UTC) - timedelta(days=3))
    operations: list[str] = []
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb.*", lambda event_name, **_: operations.append(event_name))
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        reset_cached_clients()
        assert sum(sweep(MovedClock()).values()) > 0
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
        reset_cached_clients()
    assert operations
    assert {name.rsplit(".", 1)[-1] for name in operations} <= {"Query", "BatchWriteItem", "DescribeTable"}


def test_the_sweep_runs_as_the_daily_schedule(stack):
    # Given an expired sent-email record
    items = log_like_items(datetime.now(UTC) - timedelta(days=31))
    pk, sk = items["sent_email"]
    # When the schedule named in template.yaml is run
    import httpx

    answer = httpx.post(f"{stack.api_url}/_local/schedules/atelier-local-retention-sweep/run", timeout=60)
    # Then it ran the sweep, and the record is gone
    assert answer.status_code == 200, answer.text
    assert stored(pk, sk) is None
    schedules = httpx.get(f"{stack.api_url}/_local/schedules").json()["items"]
    expressions = {item["name"]: item["expression"] for item in schedules}
    assert expressions["atelier-local-retention-sweep"] == "rate(1 day)"
    assert expressions["atelier-local-purge-due-accounts"] == "rate(15 minutes)"
    boto3.client("dynamodb", endpoint_url=stack.emulator_url)  # the emulator is still up
