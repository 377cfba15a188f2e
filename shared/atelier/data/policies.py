"""Terms and privacy policy versions, ordered by when they take effect."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import is_conditional_failure, translate_errors
from atelier.data.items import PolicyVersionItem
from atelier.models.accounts import PolicyKind, PolicyVersion


class PolicyVersionExistsError(errors.ConflictError):
    code = "policy_version_exists"
    default_message = "That version is published already."


def _to_policy(item: PolicyVersionItem) -> PolicyVersion:
    return PolicyVersion(
        kind=PolicyKind(item.kind),
        version=item.version,
        summary=item.summary,
        effective_at=item.effective_at,
        published_at=item.published_at,
        material=item.material,
    )


class PolicyRepository:
    def publish(self, policy: PolicyVersion) -> None:
        item = PolicyVersionItem(
            keys.policy_pk(policy.kind.value),
            keys.policy_version_sk(isoformat(policy.effective_at), policy.version),
            entity="policy_version",
            kind=policy.kind.value,
            version=policy.version,
            summary=policy.summary,
            effective_at=policy.effective_at,
            published_at=policy.published_at,
            material=policy.material,
        )
        with translate_errors():
            try:
                item.save(condition=PolicyVersionItem.pk.does_not_exist())
            except PutError as exc:
                if is_conditional_failure(exc):
                    raise PolicyVersionExistsError() from exc
                raise

    def get(self, kind: PolicyKind, version: str, effective_at: datetime) -> PolicyVersion | None:
        with translate_errors():
            try:
                item = PolicyVersionItem.get(
                    keys.policy_pk(kind.value),
                    keys.policy_version_sk(isoformat(effective_at), version),
                    consistent_read=True,
                )
            except PolicyVersionItem.DoesNotExist:
                return None
        return _to_policy(item)

    def in_force(self, kind: PolicyKind, now: datetime) -> PolicyVersion | None:
        upper = keys.policy_version_sk(isoformat(now), "\uffff")
        with translate_errors():
            items = PolicyVersionItem.query(
                keys.policy_pk(kind.value), PolicyVersionItem.sk <= upper, scan_index_forward=False, limit=1
            )
            found = next(iter(items), None)
        return _to_policy(found) if found else None

    def upcoming(self, kind: PolicyKind, now: datetime) -> PolicyVersion | None:
        lower = keys.policy_version_sk(isoformat(now), "\uffff")
        with translate_errors():
            items = PolicyVersionItem.query(
                keys.policy_pk(kind.value), PolicyVersionItem.sk > lower, scan_index_forward=True, limit=1
            )
            found = next(iter(items), None)
        return _to_policy(found) if found else None
