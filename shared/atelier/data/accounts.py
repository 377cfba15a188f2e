"""Accounts, their identity links and default workspaces."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from atelier import errors
from atelier.data import keys
from atelier.data.base import Transaction, cancellation_codes, is_conditional_failure, transaction, translate_errors
from atelier.data.items import AccountItem, PointerItem, WalletItem, WorkspaceItem
from atelier.data.unit_of_work import Step
from atelier.data.wallets import new_wallet_item
from atelier.models.accounts import Account, AccountStatus, Consent, Preferences, Workspace, effective_status
from atelier.models.submission import AccountMayNotGenerateError


class AccountAlreadyExistsError(errors.ConflictError):
    code = "account_exists"


def identity_hash(issuer: str, subject: str) -> str:
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def _to_account(item: AccountItem) -> Account:
    return Account(
        id=item.account_id,
        email=item.email,
        name=item.name,
        identity_issuer=item.identity_issuer,
        identity_subject=item.identity_subject,
        picture_url=item.picture_url,
        created_at=item.created_at,
        status=effective_status(item.status, item.suspended_at),
        suspended_at=item.suspended_at,
        age_confirmed=item.age_confirmed,
        terms_version=item.terms_version,
        terms_accepted_at=item.terms_accepted_at,
        consent=Consent(**(item.consent.as_dict() if item.consent else {})),
        consent_updated_at=item.consent_updated_at,
        preferences=Preferences(**(item.preferences.as_dict() if item.preferences else {})),
        default_workspace_id=item.default_workspace_id,
        ledger_id=item.ledger_id,
        avatar_key=item.avatar_key,
    )


class AccountRepository:
    def get(self, account_id: str) -> Account | None:
        with translate_errors():
            try:
                item = AccountItem.get(keys.account_pk(account_id), keys.ACCOUNT_SK, consistent_read=True)
            except AccountItem.DoesNotExist:
                return None
        return _to_account(item)

    def require(self, account_id: str) -> Account:
        account = self.get(account_id)
        if account is None:
            raise errors.NotFoundError()
        return account

    def may_generate_step(self, account_id: str, terms_version: str) -> Step:
        """A check, in a job's submission unit of work, that the account may generate right now: age
        confirmed, the terms in force accepted, active, not suspended."""
        may_generate = (
            (AccountItem.age_confirmed == True)  # noqa: E712 - a DynamoDB condition
            & (AccountItem.terms_version == terms_version)
            & (AccountItem.status == AccountStatus.ACTIVE.value)
            & AccountItem.suspended_at.does_not_exist()
        )

        def write(tx: Transaction) -> None:
            tx.condition_check(AccountItem, keys.account_pk(account_id), keys.ACCOUNT_SK, may_generate, label="account")

        return Step("account", write, AccountMayNotGenerateError)

    def find_by_identity(self, issuer: str, subject: str) -> Account | None:
        with translate_errors():
            try:
                pointer = PointerItem.get(
                    keys.identity_pointer_pk(identity_hash(issuer, subject)), keys.POINTER_SK, consistent_read=True
                )
            except PointerItem.DoesNotExist:
                return None
        return self.get(pointer.account_id)

    def create(self, account: Account, default_workspace: Workspace) -> None:
        """Writes the account, its identity link and its default workspace in one transaction; two
        first sign-ins racing for the same identity create one account."""
        account_item = AccountItem(
            keys.account_pk(account.id),
            keys.ACCOUNT_SK,
            entity="account",
            account_id=account.id,
            email=account.email,
            name=account.name,
            identity_issuer=account.identity_issuer,
            identity_subject=account.identity_subject,
            picture_url=account.picture_url,
            created_at=account.created_at,
            status=account.status.value,
            age_confirmed=account.age_confirmed,
            consent=account.consent.model_dump(),
            preferences=account.preferences.model_dump(),
            default_workspace_id=account.default_workspace_id,
            ledger_id=account.ledger_id,
            gsi1pk=keys.account_shard_pk(account.id),
            gsi1sk=account.id,
        )
        identity_pointer = PointerItem(
            keys.identity_pointer_pk(identity_hash(account.identity_issuer, account.identity_subject)),
            keys.POINTER_SK,
            entity="identity_link",
            account_id=account.id,
            created_at=account.created_at,
        )
        new_workspace = workspace_item(default_workspace)
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.save(account_item, condition=AccountItem.pk.does_not_exist())
                    tx.save(identity_pointer, condition=PointerItem.pk.does_not_exist())
                    tx.save(new_workspace, condition=WorkspaceItem.pk.does_not_exist())
                    tx.save(
                        new_wallet_item(account.id, account.ledger_id, account.created_at),
                        condition=WalletItem.pk.does_not_exist(),
                    )
            except TransactWriteError as exc:
                if "ConditionalCheckFailed" in cancellation_codes(exc):
                    raise AccountAlreadyExistsError() from exc
                raise

    def update_profile(
        self, account_id: str, *, name: str | None, email: str | None, preferences: Preferences | None
    ) -> Account:
        actions = []
        if name is not None:
            actions.append(AccountItem.name.set(name))
        if email is not None:
            actions.append(AccountItem.email.set(email))
        if preferences is not None:
            actions.append(AccountItem.preferences.set(preferences.model_dump()))
        return self._update(account_id, actions)

    def set_avatar(self, account_id: str, avatar_key: str | None) -> Account:
        action = AccountItem.avatar_key.set(avatar_key) if avatar_key else AccountItem.avatar_key.remove()
        return self._update(account_id, [action])

    def update_consent(self, account_id: str, consent: Consent, at: datetime) -> Account:
        return self._update(
            account_id, [AccountItem.consent.set(consent.model_dump()), AccountItem.consent_updated_at.set(at)]
        )

    def accept_terms(self, account_id: str, version: str, at: datetime) -> Account:
        return self._update(
            account_id,
            [
                AccountItem.terms_version.set(version),
                AccountItem.terms_accepted_at.set(at),
                AccountItem.age_confirmed.set(True),
            ],
        )

    def _update(self, account_id: str, actions: list[Any]) -> Account:
        if not actions:
            return self.require(account_id)
        item = AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK)
        with translate_errors():
            try:
                # UpdateItem answers with the whole new item, so no second read is needed.
                item.update(actions=actions, condition=AccountItem.pk.exists())
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.NotFoundError() from exc
                raise
        return _to_account(item)


def workspace_item(workspace: Workspace) -> WorkspaceItem:
    return WorkspaceItem(
        keys.account_pk(workspace.account_id),
        keys.workspace_sk(workspace.id),
        entity="workspace",
        workspace_id=workspace.id,
        name=workspace.name,
        created_at=workspace.created_at,
        is_default=workspace.is_default,
        content_count=workspace.content_count,
    )
