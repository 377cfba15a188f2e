"""Account rules checked against the emulator through the domain package itself."""

from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.data.accounts import AccountRepository
from atelier.data.policies import PolicyRepository
from atelier.data.rate_limits import RateLimiter
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import Account, PolicyKind, PolicyVersion, Workspace
from atelier.services import get_services
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.require_consent import require_consent


class FixedClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def make_account(accounts: AccountRepository, now: datetime) -> Account:
    account_id = new_id(IdPrefix.ACCOUNT)
    workspace = Workspace(
        id=new_id(IdPrefix.WORKSPACE), account_id=account_id, name="Personal", created_at=now, is_default=True
    )
    account = Account(
        id=account_id,
        email=f"{account_id}@example.com",
        name="Test",
        identity_issuer="https://issuer.test",
        identity_subject=account_id,
        created_at=now,
        default_workspace_id=workspace.id,
        ledger_id=new_id(IdPrefix.LEDGER),
    )
    accounts.create(account, workspace)
    return account


def test_the_consent_guard_blocks_until_terms_and_age_are_accepted(stack):
    # Given a new account
    services = get_services()
    clock = FixedClock(datetime.now(UTC))
    account = make_account(services.accounts, clock.now())
    guard = {"policies": services.policies, "clock": clock, "settings": services.settings}
    # Then it may not act yet
    with pytest.raises(errors.ConsentRequiredError):
        require_consent(account, **guard)
    # When it accepts the terms in force, attesting its age
    version = services.settings.policy.initial_terms_version
    accepted = accept_terms(account.id, version, accounts=services.accounts, **guard)
    # Then the guard lets it through
    require_consent(accepted, **guard)


def test_a_new_terms_version_in_force_requires_accepting_again(stack):
    services = get_services()
    now = datetime.now(UTC)
    clock = FixedClock(now)
    account = make_account(services.accounts, now)
    guard = {"policies": services.policies, "clock": clock, "settings": services.settings}
    accepted = accept_terms(
        account.id, services.settings.policy.initial_terms_version, accounts=services.accounts, **guard
    )
    # When a new version is published that takes effect in 14 days
    published = PolicyVersion(
        kind=PolicyKind.TERMS,
        version="2099-test",
        summary="New terms",
        effective_at=now + timedelta(days=14),
        published_at=now,
        material=True,
    )
    PolicyRepository().publish(published)
    # Then the account may act until it takes effect, and must accept it afterwards
    require_consent(accepted, **guard)
    later = {**guard, "clock": FixedClock(now + timedelta(days=15))}
    with pytest.raises(errors.ConsentRequiredError):
        require_consent(accepted, **later)


def test_a_rate_limit_refuses_past_its_limit_and_says_when_to_retry(stack):
    limiter = RateLimiter()
    now = datetime(2026, 11, 21, 12, 0, 30, tzinfo=UTC)
    for _ in range(3):
        limiter.hit("test-scope", "203.0.113.7", limit=3, window_seconds=60, now=now)
    with pytest.raises(errors.RateLimitedError) as refused:
        limiter.hit("test-scope", "203.0.113.7", limit=3, window_seconds=60, now=now)
    assert refused.value.retry_after_seconds == 30
    # Another subject, and the next window, are counted apart
    limiter.hit("test-scope", "198.51.100.1", limit=3, window_seconds=60, now=now)
    limiter.hit("test-scope", "203.0.113.7", limit=3, window_seconds=60, now=now + timedelta(seconds=30))


def test_rate_counters_never_store_the_address(stack):
    import boto3

    RateLimiter().hit("privacy-scope", "192.0.2.55", limit=10, window_seconds=60, now=datetime.now(UTC))
    table = boto3.resource("dynamodb").Table(get_services().settings.resources.main_table_name)
    items = table.scan()["Items"]
    assert not any("192.0.2.55" in str(item) for item in items)


def test_two_first_sign_ins_racing_create_one_account(stack):
    from concurrent.futures import ThreadPoolExecutor

    from atelier.models.accounts import Identity
    from atelier.usecases.complete_sign_in import _find_or_create_account

    identity = Identity(issuer="https://issuer.test", subject="racer", email="racer@example.com")
    clock = FixedClock(datetime.now(UTC))
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: _find_or_create_account(identity, accounts=AccountRepository(), clock=clock), range(8))
        )
    assert len({account.id for account, _ in results}) == 1
    assert sum(created for _, created in results) == 1
