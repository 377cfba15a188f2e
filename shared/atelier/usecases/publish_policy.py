"""Publishes a terms or privacy version (P15). A material change takes effect at least
`policy_notice_days` after it is published, and every account holder is emailed once: one queue
message per shard of the account index starts the fan-out; each consumer step emails one page of
accounts and queues the next page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from atelier import errors
from atelier.clock import Clock, isoformat
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.policies import PolicyRepository, PolicyVersionExistsError
from atelier.data.policy_notices import PolicyNoticeRepository
from atelier.integrations.email import Mailer
from atelier.integrations.queue import MessageQueue
from atelier.models.accounts import PolicyKind, PolicyVersion
from atelier.models.email import EmailKind
from atelier.observability import logger
from atelier.settings import Settings
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services


class PolicyNoticeMessage(BaseModel):
    """One page of one shard of the account index, for one policy version."""

    model_config = ConfigDict(frozen=True)

    kind: PolicyKind
    version: str
    shard: str
    after: str | None = None


class NoticeTooShortError(errors.InvalidFieldError):
    code = "notice_too_short"


@dataclass(frozen=True)
class PublishPolicyDeps:
    """What `publish_policy` works with, built once per function (`Services.dependencies`)."""

    policies: PolicyRepository
    queue: MessageQueue
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> PublishPolicyDeps:
        return cls(
            policies=services.policies,
            queue=services.policy_notice_queue,
            clock=services.clock,
            settings=services.settings,
        )


def publish_policy(
    deps: PublishPolicyDeps,
    kind: PolicyKind,
    version: str,
    summary: str,
    material: bool,
    effective_at: datetime,
) -> PolicyVersion:
    from atelier.data import keys

    now = deps.clock.now()
    if effective_at <= now:
        raise errors.InvalidFieldError(
            "A new version takes effect in the future.", details=[{"field": "effective_at", "location": "body"}]
        )
    notice_days = deps.settings.policy.policy_notice_days
    if material and effective_at < now + timedelta(days=notice_days):
        raise NoticeTooShortError(
            f"A material change takes effect at least {notice_days} days after it is published.",
            details=[{"field": "effective_at", "location": "body"}],
        )
    policy = PolicyVersion(
        kind=kind, version=version, summary=summary, effective_at=effective_at, published_at=now, material=material
    )
    try:
        deps.policies.publish(policy)
    except PolicyVersionExistsError:
        published = deps.policies.get(kind, version, effective_at)
        if published is None or (published.summary, published.material) != (summary, material):
            raise  # 409: another text is out under this version
        # The same version again: an admin retrying after its notices could not all be queued. They
        # are queued again; each account's notice marker still keeps anyone from a second email.
        policy = published
    for shard in keys.account_shards():
        deps.queue.send(PolicyNoticeMessage(kind=kind, version=version, shard=shard))
    logger.info("policy published", extra={"policy_kind": kind.value, "material": material})
    return policy


@dataclass(frozen=True)
class SendPolicyNoticesDeps:
    """What `send_policy_notices` works with, built once per function (`Services.dependencies`)."""

    notices: PolicyNoticeRepository
    policies: PolicyRepository
    accounts: AccountRepository
    queue: MessageQueue
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> SendPolicyNoticesDeps:
        return cls(
            notices=services.policy_notices,
            policies=services.policies,
            accounts=services.accounts,
            queue=services.policy_notice_queue,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def send_policy_notices(
    deps: SendPolicyNoticesDeps,
    message: PolicyNoticeMessage,
) -> int:
    """Emails one page of accounts; answers how many were emailed by this delivery. The marker is
    written before the email, only if absent, so a redelivered message emails nobody twice; an email
    that fails drops its marker and fails the record, so the retry sends it."""
    policy = deps.policies.upcoming(message.kind, deps.clock.now())
    summary = policy.summary if policy is not None and policy.version == message.version else ""
    effective = isoformat(policy.effective_at) if policy is not None and policy.version == message.version else ""
    account_ids, after = deps.notices.account_page(
        message.shard, after=message.after, limit=deps.settings.policy.policy_notice_page_size
    )
    if after is not None:
        # The next page is queued before this one is worked on, so a slow page never stalls the rest.
        deps.queue.send(message.model_copy(update={"after": after}))
    emailed = 0
    failed = []
    for account_id in account_ids:
        if not deps.notices.claim(account_id, message.kind.value, message.version, deps.clock.now()):
            continue
        account = deps.accounts.get(account_id)
        if account is None:
            continue
        subject = (
            f"Atelier's {message.kind.value} are changing"
            if message.kind is PolicyKind.TERMS
            else "Atelier's privacy policy is changing"
        )
        text = f"Version {message.version} takes effect on {effective}.\n\n{summary}\n"
        if send_email(
            account, EmailKind.POLICY, subject, text, mailer=deps.mailer, sent_emails=deps.sent_emails, clock=deps.clock
        ):
            emailed += 1
        else:
            deps.notices.release(account_id, message.kind.value, message.version)
            failed.append(account_id)
    if failed:
        raise errors.DependencyUnavailableError("Some policy notices could not be sent; the page is retried.")
    return emailed
